"""The program's vocabulary, stated once: every code the documents and the platform use, its Chinese name,
and the field lists that cross a boundary.

Each tuple is the closed set of allowed codes; each ``*_NAMES`` mapping gives the words a cashier reads.
Field lists in fen (``AMOUNTS``, ``COUNTERS``) are the names the journal, the audit chain, the sync
protocol and the hub all use.
"""

from __future__ import annotations

# The facility (定点医药机构) and how the documents rank it.
FACILITY_KINDS = ("hospital", "township_health_centre", "community_health_centre", "clinic", "pharmacy")
FACILITY_KIND_NAMES = {
    "hospital": "医院",
    "township_health_centre": "乡镇卫生院",
    "community_health_centre": "社区卫生服务中心",
    "clinic": "诊所",
    "pharmacy": "定点零售药店",
}
LEVELS = (1, 2, 3)
LEVEL_NAMES = {1: "一级及以下", 2: "二级", 3: "三级"}
GRADES = ("A", "B", "C")  # 甲等 乙等 丙等
GRADE_NAMES = {"A": "甲等", "B": "乙等", "C": "丙等"}
TIERS = ("provincial", "city", "county")
TIER_NAMES = {"provincial": "省级", "city": "市级", "county": "县级"}

# The member.
SEX_NAMES = {"1": "男", "2": "女"}  # GB/T 2261.1
STATUSES = ("employed", "retired")
STATUS_NAMES = {"employed": "在职", "retired": "退休"}
SCHEMES = ("combined", "pooling_only")
SCHEME_NAMES = {"combined": "统账结合", "pooling_only": "单建统筹"}
# Only the combined scheme (统账结合) has a personal account; pooling-only (单建统筹) has none (Sichuan art. 4.3).
SCHEMES_WITH_ACCOUNT = ("combined",)
PROGRAMMES = ("hypertension", "diabetes")
PROGRAMME_NAMES = {"hypertension": "高血压", "diabetes": "糖尿病"}
# Who a personal account may pay for, as the documents name them (each region allows some: ``account_relations``).
RELATION_NAMES = {"self": "本人", "spouse": "配偶", "child": "子女", "parent": "父母", "spouse_parent": "配偶父母"}
# A family link is stored from the account owner's side: "child" means the patient is the owner's child.  At the
# counter the payer is named from the patient's side, so each stored relation reads as its converse: under a
# patient whose link says "child", the payer is the patient's parent (父母).  Display only: the rules check the codes.
PAYER_RELATION_NAMES = {"spouse": "配偶", "child": "父母", "parent": "子女", "spouse_parent": "子女配偶"}

# The visit and its items.
VISIT_KINDS = {"ordinary": "普通门诊", "programme": "两病门诊", "emergency": "急诊", "referral": "转诊"}
CATEGORIES = ("A", "B", "C")
CATEGORY_NAMES = {"A": "甲类", "B": "乙类", "C": "丙类"}
CATEGORY_SHORT = {"A": "甲", "B": "乙", "C": "丙"}
ITEM_KINDS = ("drug", "service", "material", "public_health", "fitness", "wellness")

# Stored columns: the catalogue's (prices in fen) and the member cache's; the desk's tables and the hub's feed.
CATALOGUE_COLUMNS = (
    "code",
    "name",
    "category",
    "selfpay_ratio",
    "price",
    "price_cap",
    "unit",
    "programme",
    "item_kind",
    "account_payable",
    "barcode",
    "spec",  # 规格, optional: "" when a file or an older feed has none
    "manufacturer",  # 生产厂家, optional likewise
    "trac_required",  # 追溯码管理 (0 or 1), optional: an older file or feed has none (0)
    "packs_per_unit",  # smallest packages in one sold unit, optional (1)
)
MEMBER_COLUMNS = (
    "psn_no",
    "certno",
    "name",
    "sex",
    "birth_date",
    "insutype",
    "status",
    "status_since",
    "scheme",
    "region",
    "civil_servant",
    "programmes",
    "designated_facility",
    "account_balance",
)

# The journal's figures at the boundary, in fen: one entry's amounts, and the yearly usage counters it moves.
AMOUNTS = ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
COUNTERS = ("deductible", "pool", "programme_hypertension", "programme_diabetes")
