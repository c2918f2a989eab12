-- baidu-ocr warehouse tables (postgresql). Generated from baidu_ocr.normalize.TABLES by
-- `python -m baidu_ocr.warehouse`: edit TABLES, not this file.

CREATE TABLE IF NOT EXISTS "ocr_documents" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "page_count" BIGINT,
    "options_json" TEXT,
    "source_uri" TEXT,
    "bytes" BIGINT,
    "width" BIGINT,
    "height" BIGINT,
    "status" TEXT,
    "error_code" TEXT,
    "error_class" TEXT,
    "error_msg" TEXT,
    "log_id" TEXT,
    "attempts" BIGINT,
    "latency_ms" DOUBLE PRECISION,
    "direction" BIGINT,
    "n_lines" BIGINT,
    "conf_mean" DOUBLE PRECISION,
    "conf_min" DOUBLE PRECISION,
    "dag_id" TEXT,
    "run_id" TEXT,
    "processed_at" TIMESTAMPTZ,
    "review_status" TEXT,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TIMESTAMPTZ,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no")
);

CREATE TABLE IF NOT EXISTS "ocr_lines" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "line_no" BIGINT NOT NULL,
    "text" TEXT,
    "prob_average" DOUBLE PRECISION,
    "prob_min" DOUBLE PRECISION,
    "left" BIGINT,
    "top" BIGINT,
    "width" BIGINT,
    "height" BIGINT,
    "original_text" TEXT,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TIMESTAMPTZ,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "line_no")
);

CREATE TABLE IF NOT EXISTS "ocr_chars" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "line_no" BIGINT NOT NULL,
    "char_no" BIGINT NOT NULL,
    "char" TEXT,
    "left" BIGINT,
    "top" BIGINT,
    "width" BIGINT,
    "height" BIGINT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "line_no", "char_no")
);

CREATE TABLE IF NOT EXISTS "ocr_idcards" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "side" TEXT NOT NULL,
    "name" TEXT,
    "sex" TEXT,
    "ethnicity" TEXT,
    "birth_date" DATE,
    "address" TEXT,
    "id_number_masked" TEXT,
    "id_number_hmac" TEXT,
    "id_number_valid" BOOLEAN,
    "id_number_encrypted" TEXT,
    "issuing_authority" TEXT,
    "valid_from" DATE,
    "valid_to" DATE,
    "valid_long_term" BOOLEAN,
    "image_status" TEXT,
    "risk_type" TEXT,
    "idcard_number_type" BIGINT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "side")
);

CREATE TABLE IF NOT EXISTS "ocr_table_cells" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "table_no" BIGINT NOT NULL,
    "row" BIGINT NOT NULL,
    "col" BIGINT NOT NULL,
    "row_span" BIGINT,
    "col_span" BIGINT,
    "text" TEXT,
    "left" BIGINT,
    "top" BIGINT,
    "width" BIGINT,
    "height" BIGINT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "table_no", "row", "col")
);

CREATE TABLE IF NOT EXISTS "ocr_fields" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "field" TEXT NOT NULL,
    "item_no" BIGINT NOT NULL,
    "value" TEXT,
    "left" BIGINT,
    "top" BIGINT,
    "width" BIGINT,
    "height" BIGINT,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "field", "item_no")
);

CREATE TABLE IF NOT EXISTS "ocr_parsed_documents" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "options_json" TEXT,
    "source_uri" TEXT,
    "page_count" BIGINT,
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
    "map_index" BIGINT NOT NULL,
    "try_number" BIGINT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "billable_calls" BIGINT,
    "pages" BIGINT,
    "failed_calls" BIGINT,
    "estimated_cost" DOUBLE PRECISION,
    "recorded_at" TIMESTAMPTZ,
    PRIMARY KEY ("dag_id", "run_id", "task_id", "map_index", "try_number", "endpoint", "day")
);

CREATE TABLE IF NOT EXISTS "ocr_run_budget" (
    "dag_id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "reserved_calls" BIGINT,
    "updated_at" TIMESTAMPTZ,
    PRIMARY KEY ("dag_id", "run_id")
);

CREATE TABLE IF NOT EXISTS "ocr_invoices" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "source_uri" TEXT,
    "invoice_type" TEXT,
    "invoice_code" TEXT,
    "invoice_num" TEXT,
    "invoice_date" DATE,
    "check_code" TEXT,
    "buyer_name" TEXT,
    "buyer_tax_id" TEXT,
    "buyer_tax_id_hmac" TEXT,
    "seller_name" TEXT,
    "seller_tax_id" TEXT,
    "amount_excl_tax" NUMERIC(18,2),
    "tax_amount" NUMERIC(18,2),
    "amount_incl_tax" NUMERIC(18,2),
    "amount_in_words" TEXT,
    "authority_status" TEXT,
    "checks_failed" TEXT,
    "validation_status" TEXT,
    "duplicate_of" TEXT,
    "review_status" TEXT,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TIMESTAMPTZ,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no")
);

CREATE TABLE IF NOT EXISTS "ocr_invoice_items" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "item_no" BIGINT NOT NULL,
    "name" TEXT,
    "spec" TEXT,
    "unit" TEXT,
    "quantity" NUMERIC(24,8),
    "unit_price" NUMERIC(24,8),
    "amount" NUMERIC(18,2),
    "tax_rate" NUMERIC(7,4),
    "tax" NUMERIC(18,2),
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no", "item_no")
);

CREATE TABLE IF NOT EXISTS "ocr_invoice_identities" (
    "identity" TEXT NOT NULL,
    "content_sha256" TEXT,
    "endpoint" TEXT,
    "options_hash" TEXT,
    "page_no" BIGINT,
    "source_uri" TEXT,
    "registered_at" TIMESTAMPTZ,
    PRIMARY KEY ("identity")
);

CREATE TABLE IF NOT EXISTS "ocr_review_queue" (
    "content_sha256" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "options_hash" TEXT NOT NULL,
    "page_no" BIGINT NOT NULL,
    "source_uri" TEXT,
    "reason" TEXT,
    "min_confidence" DOUBLE PRECISION,
    "conf_mean" DOUBLE PRECISION,
    "conf_min" DOUBLE PRECISION,
    "low_lines" TEXT,
    "status" TEXT,
    "dag_id" TEXT,
    "run_id" TEXT,
    "queued_at" TIMESTAMPTZ,
    "reviewed_by" TEXT,
    "reviewed_by_id" TEXT,
    "reviewed_at" TIMESTAMPTZ,
    PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no")
);
