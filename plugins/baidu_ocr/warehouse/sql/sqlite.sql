-- baidu-ocr warehouse tables (sqlite). Generated from baidu_ocr.normalize.TABLES by
-- `python -m baidu_ocr.warehouse`: edit TABLES, not this file.

CREATE TABLE IF NOT EXISTS "ocr_documents" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "page_count" INTEGER,
    "options_json" TEXT,
    "source_uri" TEXT,
    "bytes" INTEGER,
    "width" INTEGER,
    "height" INTEGER,
    "status" TEXT,
    "error_code" TEXT,
    "error_class" TEXT,
    "error_msg" TEXT,
    "log_id" TEXT,
    "attempts" INTEGER,
    "latency_ms" REAL,
    "direction" INTEGER,
    "n_lines" INTEGER,
    "conf_mean" REAL,
    "conf_min" REAL,
    "dag_id" TEXT,
    "run_id" TEXT,
    "processed_at" TEXT,
    "review_status" TEXT,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TEXT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no")
);

CREATE TABLE IF NOT EXISTS "ocr_lines" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "line_no" INTEGER NOT NULL,
    "text" TEXT,
    "prob_average" REAL,
    "prob_min" REAL,
    "left" INTEGER,
    "top" INTEGER,
    "width" INTEGER,
    "height" INTEGER,
    "original_text" TEXT,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TEXT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "line_no")
);

CREATE TABLE IF NOT EXISTS "ocr_chars" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "line_no" INTEGER NOT NULL,
    "char_no" INTEGER NOT NULL,
    "char" TEXT,
    "left" INTEGER,
    "top" INTEGER,
    "width" INTEGER,
    "height" INTEGER,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "line_no", "char_no")
);

CREATE TABLE IF NOT EXISTS "ocr_idcards" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "side" TEXT NOT NULL,
    "name" TEXT,
    "sex" TEXT,
    "ethnicity" TEXT,
    "birth_date" TEXT,
    "address" TEXT,
    "id_number_masked" TEXT,
    "id_number_hmac" TEXT,
    "id_number_valid" INTEGER,
    "id_number_encrypted" TEXT,
    "issuing_authority" TEXT,
    "valid_from" TEXT,
    "valid_to" TEXT,
    "valid_long_term" INTEGER,
    "image_status" TEXT,
    "risk_type" TEXT,
    "idcard_number_type" INTEGER,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "side")
);

CREATE TABLE IF NOT EXISTS "ocr_table_cells" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "table_no" INTEGER NOT NULL,
    "row" INTEGER NOT NULL,
    "col" INTEGER NOT NULL,
    "row_span" INTEGER,
    "col_span" INTEGER,
    "text" TEXT,
    "left" INTEGER,
    "top" INTEGER,
    "width" INTEGER,
    "height" INTEGER,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "table_no", "row", "col")
);

CREATE TABLE IF NOT EXISTS "ocr_fields" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "field" TEXT NOT NULL,
    "item_no" INTEGER NOT NULL,
    "value" TEXT,
    "left" INTEGER,
    "top" INTEGER,
    "width" INTEGER,
    "height" INTEGER,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "field", "item_no")
);

CREATE TABLE IF NOT EXISTS "ocr_parsed_documents" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "options_json" TEXT,
    "source_uri" TEXT,
    "page_count" INTEGER,
    "task_id" TEXT,
    "status" TEXT,
    "markdown" TEXT,
    "layout_json" TEXT,
    "error_msg" TEXT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no")
);

CREATE TABLE IF NOT EXISTS "ocr_usage" (
    "dag_id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "map_index" INTEGER NOT NULL,
    "try_number" INTEGER NOT NULL,
    "endpoint" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "billable_calls" INTEGER,
    "pages" INTEGER,
    "failed_calls" INTEGER,
    "estimated_cost" REAL,
    "recorded_at" TEXT,
    PRIMARY KEY ("dag_id", "run_id", "task_id", "map_index", "try_number", "endpoint", "day")
);

CREATE TABLE IF NOT EXISTS "ocr_run_budget" (
    "dag_id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "reserved_calls" INTEGER,
    "updated_at" TEXT,
    PRIMARY KEY ("dag_id", "run_id")
);

CREATE TABLE IF NOT EXISTS "ocr_invoices" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "source_uri" TEXT,
    "invoice_type" TEXT,
    "invoice_code" TEXT,
    "invoice_num" TEXT,
    "invoice_date" TEXT,
    "check_code" TEXT,
    "buyer_name" TEXT,
    "buyer_tax_id" TEXT,
    "buyer_tax_id_hmac" TEXT,
    "seller_name" TEXT,
    "seller_tax_id" TEXT,
    "amount_excl_tax" TEXT,
    "tax_amount" TEXT,
    "amount_incl_tax" TEXT,
    "amount_in_words" TEXT,
    "authority_status" TEXT,
    "checks_failed" TEXT,
    "validation_status" TEXT,
    "duplicate_of" TEXT,
    "review_status" TEXT,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TEXT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no")
);

CREATE TABLE IF NOT EXISTS "ocr_invoice_items" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "item_no" INTEGER NOT NULL,
    "name" TEXT,
    "spec" TEXT,
    "unit" TEXT,
    "quantity" TEXT,
    "unit_price" TEXT,
    "amount" TEXT,
    "tax_rate" TEXT,
    "tax" TEXT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "item_no")
);

CREATE TABLE IF NOT EXISTS "ocr_invoice_identities" (
    "identity" TEXT NOT NULL,
    "content_sha256" TEXT,
    "endpoint" TEXT,
    "options_hash" TEXT,
    "page_no" INTEGER,
    "source_uri" TEXT,
    "registered_at" TEXT,
    PRIMARY KEY ("identity")
);

CREATE TABLE IF NOT EXISTS "ocr_review_queue" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" INTEGER NOT NULL,
    "source_uri" TEXT,
    "reason" TEXT,
    "min_confidence" REAL,
    "conf_mean" REAL,
    "conf_min" REAL,
    "low_lines" TEXT,
    "status" TEXT,
    "dag_id" TEXT,
    "run_id" TEXT,
    "queued_at" TEXT,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TEXT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no")
);
