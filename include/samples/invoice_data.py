"""Invented VAT invoices for the samples: companies with valid codes, items whose amounts add up, and the
answer Baidu's ``vat_invoice`` would give for what is printed (see ``invoice_samples`` for the drawing).

Every company, person and number here is invented. Unified social credit codes carry a correct GB 32100
check character (``stdnum.cn.uscc``), a private buyer's ID number a correct GB 11643 check digit; item taxes
are ``amount x rate`` rounded half up to the cent and the totals are their sums, so the provider's checks
pass on every invoice except the one drawn with ``tamper`` set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import cn2an
from stdnum.cn import uscc

CENT = Decimal("0.01")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PROVINCES = [("浙江", "330106"), ("上海", "310115"), ("北京", "110108"), ("江苏", "320106"), ("广东", "440305"),
             ("四川", "510107")]  # fmt: skip
COMPANY_WORDS = ["华信", "鼎盛", "恒远", "瑞丰", "嘉禾", "启明", "东方", "新联", "安泰", "宏图", "云杉", "青禾",
                 "明德", "长风", "金穗", "远航"]  # fmt: skip
COMPANY_TRADES = ["科技", "贸易", "商贸", "电子", "物流", "建材", "食品", "信息技术", "印务", "餐饮管理"]
COMPANY_FORMS = ["有限公司", "股份有限公司", "有限责任公司"]
CITIES = ["杭州", "上海", "北京", "南京", "深圳", "成都"]
STREETS = ["文三路", "世纪大道", "学院路", "中山北路", "人民南路", "深南大道", "解放东路"]
BANKS = ["中国工商银行", "中国建设银行", "招商银行", "中国银行", "交通银行", "杭州银行"]
GOODS = [("*日用杂品*洗衣液", "2L", "瓶"), ("*纸制品*打印纸", "A4 70g", "箱"), ("*计算机外部设备*键盘", "K120", "个"),
         ("*办公用品*签字笔", "0.5mm", "盒"), ("*电子元件*电阻器", "RC0603", "盘"), ("*食品*矿泉水", "550ml", "箱"),
         ("*家用电器*电热水壶", "HX-17", "台"), ("*五金制品*螺丝刀套装", "32件", "套"), ("*服装*工作服", "XL", "件"),
         ("*塑料制品*收纳箱", "60L", "个"), ("*照明装置*LED灯管", "T8 18W", "支"), ("*文具*笔记本", "B5", "本")]  # fmt: skip
SERVICES = [("*信息技术服务*软件维护费", "", ""), ("*现代服务*咨询服务费", "", ""), ("*餐饮服务*餐费", "", ""),
            ("*运输服务*货物运输费", "", "")]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文"

# InvoiceTypeOrg (the printed title) -> InvoiceType (Baidu's short name), per layout.
CLASSIC_TYPES = {
    "增值税专用发票": "专用发票",
    "增值税普通发票": "普通发票",
    "增值税电子普通发票": "电子普通发票",
}
DIGITAL_TYPES = {
    "电子发票（增值税专用发票）": "电子发票(专用发票)",
    "电子发票（普通发票）": "电子发票(普通发票)",
}


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def amount_in_words(value: Decimal) -> str:
    """价税合计（大写）: cn2an's RMB words (壹仟壹佰叁拾元整, 壹佰元零伍分)."""
    return cn2an.an2cn(money(value), "rmb")


def make_uscc(rng: random.Random, division: str) -> str:
    """A unified social credit code: 9 (market regulator) 1 (enterprise), division, 9-char org code, check."""
    org = "".join(rng.choice("0123456789") for _ in range(8))
    if rng.random() < 0.5:  # codes issued since 2015 often start their org part with MA
        org = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    body = f"91{division}{org}{rng.choice(USCC_ALPHABET)}"
    return body + uscc.calc_check_digit(body)


#: Birth places for private buyers' ID numbers, per province: districts python-stdnum's region list knows
#: (it predates many current codes, and ``stdnum.cn.ric`` refuses a number born in a code it does not know).
ID_BIRTH_PLACES = {"330106": "330122", "310115": "310104", "110108": "110108", "320106": "320121",
                   "440305": "440300", "510107": "510122"}  # fmt: skip


def make_id_number(rng: random.Random, division: str, check_digit) -> str:
    """An invented resident ID number with a correct GB 11643 check digit (``check_digit`` computes it)."""
    first17 = f"{ID_BIRTH_PLACES[division]}{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    return first17 + check_digit(first17)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2])))


@dataclass
class Party:
    name: str
    tax_id: str
    address: str
    bank: str


def make_company(rng: random.Random) -> Party:
    province, division = rng.choice(PROVINCES)
    city = CITIES[[p for p, _ in PROVINCES].index(province)]
    name = f"{city}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_TRADES)}{rng.choice(COMPANY_FORMS)}"
    phone = f"0{rng.randint(10, 99)}-{rng.randint(60000000, 89999999)}"
    address = f"{city}市{rng.choice(STREETS)}{rng.randint(1, 399)}号 {phone}"
    bank = f"{rng.choice(BANKS)}{city}分行 {rng.randint(10**15, 10**16 - 1)}"
    return Party(name, make_uscc(rng, division), address, bank)


@dataclass
class Item:
    name: str
    spec: str
    unit: str
    quantity: str
    price: str
    amount: Decimal
    rate: int  # percent
    tax: Decimal


def make_items(rng: random.Random, count: int) -> list[Item]:
    """Goods or services whose amount is quantity x price and tax amount x rate, both to the cent."""
    rate = rng.choice([13, 13, 9, 6, 3])
    items = []
    for name, spec, unit in rng.sample(GOODS + SERVICES, count):
        if unit:
            quantity = rng.randint(1, 60)
            price = Decimal(rng.randint(150, 90000)) / 100
            amount = price * quantity
            quantity_text, price_text = str(quantity), money(price)
        else:  # a service: no quantity, unit or price printed
            amount = Decimal(rng.randint(20000, 2000000)) / 100
            quantity_text = price_text = ""
        tax = (amount * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        items.append(Item(name, spec, unit, quantity_text, price_text, amount, rate, tax))
    return items


@dataclass
class Invoice:
    layout: str  # classic | digital
    title: str  # InvoiceTypeOrg as printed
    province: str
    code: str  # "" for 数电票
    number: str
    date: str  # 2025年05月15日
    check_code: str  # 20 digits, classic normal invoices only
    buyer: Party
    seller: Party
    items: list[Item]
    payee: str
    checker: str
    drawer: str
    remarks: str = ""
    words_override: str = ""  # a miswritten 大写 (the tampered sample)
    private_buyer: bool = False
    cipher: list[str] = field(default_factory=list)

    @property
    def total_amount(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal(0))

    @property
    def total_tax(self) -> Decimal:
        return sum((item.tax for item in self.items), Decimal(0))

    @property
    def amount_in_figures(self) -> Decimal:
        return self.total_amount + self.total_tax

    @property
    def amount_in_words(self) -> str:
        return self.words_override or amount_in_words(self.amount_in_figures)

    def words_result(self) -> dict:
        """What Baidu answers for what is printed: scalars as strings, items as ``{row, word}`` lists
        (rows only where the cell is printed). Fields not printed on our samples are left to the server,
        which answers them ``""``."""
        types = CLASSIC_TYPES if self.layout == "classic" else DIGITAL_TYPES
        result: dict = {
            "InvoiceType": types[self.title],
            "InvoiceTypeOrg": self.province + self.title if self.layout == "classic" else self.title,
            "InvoiceCode": self.code,
            "InvoiceNum": self.number,
            "InvoiceDate": self.date,
            "CheckCode": self.check_code,
            "PurchaserName": self.buyer.name,
            "PurchaserRegisterNum": self.buyer.tax_id,
            "SellerName": self.seller.name,
            "SellerRegisterNum": self.seller.tax_id,
            "TotalAmount": money(self.total_amount),
            "TotalTax": money(self.total_tax),
            "AmountInFiguers": money(self.amount_in_figures),
            "AmountInWords": self.amount_in_words,
            "NoteDrawer": self.drawer,
            "Remarks": self.remarks,
        }
        if self.layout == "classic":
            result |= {
                "PurchaserAddress": self.buyer.address,
                "PurchaserBank": self.buyer.bank,
                "SellerAddress": self.seller.address,
                "SellerBank": self.seller.bank,
                "Payee": self.payee,
                "Checker": self.checker,
            }
        columns = {
            "CommodityName": lambda item: item.name,
            "CommodityType": lambda item: item.spec,
            "CommodityUnit": lambda item: item.unit,
            "CommodityNum": lambda item: item.quantity,
            "CommodityPrice": lambda item: item.price,
            "CommodityAmount": lambda item: money(item.amount),
            "CommodityTaxRate": lambda item: f"{item.rate}%",
            "CommodityTax": lambda item: money(item.tax),
        }
        for key, value in columns.items():
            result[key] = [
                {"row": str(row), "word": value(item)}
                for row, item in enumerate(self.items, start=1)
                if value(item)
            ]
        return result


def make_invoice(rng: random.Random, layout: str, check_digit, *, private_buyer: bool = False) -> Invoice:
    """One invoice with coherent numbers; ``check_digit`` is GB 11643's (for a private buyer's ID number)."""
    province, division = rng.choice(PROVINCES)
    year = rng.choice([2024, 2025, 2026])
    month, day = rng.randint(1, 11 if year == 2026 else 12), rng.randint(1, 28)  # never in the future
    seller = make_company(rng)
    if private_buyer:
        buyer = Party(person_name(rng), make_id_number(rng, division, check_digit), "", "")
    else:
        buyer = make_company(rng)
    if layout == "classic":
        title = rng.choice(list(CLASSIC_TYPES))
        code = f"{division[:4]}{year % 100:02d}{rng.randint(1000, 9999)}" + (
            "" if "专用" in title else "0" * 2
        )
        number = f"{rng.randint(0, 99999999):08d}"
        check = "" if "专用" in title else "".join(rng.choice("0123456789") for _ in range(20))
    else:
        title = rng.choice(list(DIGITAL_TYPES))
        code, check = "", ""
        number = f"{year % 100:02d}{division[:2]}2{rng.randint(0, 10**15 - 1):015d}"
    cipher = ["".join(rng.choice("0123456789+-*/<>") for _ in range(28)) for _ in range(4)]
    return Invoice(
        layout=layout,
        title=title,
        province=province,
        code=code,
        number=number,
        date=f"{year}年{month:02d}月{day:02d}日",
        check_code=check,
        buyer=buyer,
        seller=seller,
        items=make_items(rng, rng.randint(1, 4)),
        payee=person_name(rng),
        checker=person_name(rng),
        drawer=person_name(rng),
        remarks=rng.choice(["", "", f"合同号HT{rng.randint(1000, 9999)}", "项目验收后付款"]),
        private_buyer=private_buyer,
        cipher=cipher,
    )
