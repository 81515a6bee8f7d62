"""The demo catalog and departments: real kinds of record with their real legal bases."""

from disclosure.models import DisclosureAttribute, LegalBasisLevel, Subjects
from disclosure.rules import Category, Severity

DEPARTMENTS = [
    ("samr", "市场监督管理局", "Administration for Market Regulation"),
    ("tax", "税务局", "Taxation Bureau"),
    ("mee", "生态环境局", "Bureau of Ecology and Environment"),
    ("mem", "应急管理局", "Emergency Management Bureau"),
    ("mohurd", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("court", "人民法院", "People's Court"),
    ("customs", "海关", "Customs"),
    ("ndrc", "发展和改革委员会", "Development and Reform Commission"),
]

L = LegalBasisLevel
C = Category
S = Severity

# code, name, English name, category, legal basis, level, provider, severity, repairable
CATALOG = [
    (
        "licence-general",
        "行政许可信息",
        "Administrative licence",
        C.ADMINISTRATIVE_LICENCE,
        "《中华人民共和国行政许可法》第四十条",
        L.LAW,
        "samr",
        "",
        False,
    ),
    (
        "licence-food",
        "食品经营许可",
        "Food business licence",
        C.ADMINISTRATIVE_LICENCE,
        "《中华人民共和国食品安全法》第三十五条",
        L.LAW,
        "samr",
        "",
        False,
    ),
    (
        "licence-construction",
        "建筑业企业资质许可",
        "Construction enterprise qualification",
        C.ADMINISTRATIVE_LICENCE,
        "《中华人民共和国建筑法》第十三条",
        L.LAW,
        "mohurd",
        "",
        False,
    ),
    (
        "penalty-simple",
        "行政处罚信息（简易程序）",
        "Administrative penalty (simple procedure)",
        C.ADMINISTRATIVE_PENALTY,
        "《中华人民共和国行政处罚法》第五十一条",
        L.LAW,
        "samr",
        S.MINOR,
        True,
    ),
    (
        "penalty-market",
        "市场监管行政处罚",
        "Market regulation penalty",
        C.ADMINISTRATIVE_PENALTY,
        "《中华人民共和国行政处罚法》第四十八条",
        L.LAW,
        "samr",
        S.GENERAL,
        True,
    ),
    (
        "penalty-tax",
        "税务行政处罚",
        "Tax penalty",
        C.ADMINISTRATIVE_PENALTY,
        "《中华人民共和国税收征收管理法》第六十四条",
        L.LAW,
        "tax",
        S.GENERAL,
        True,
    ),
    (
        "penalty-environment",
        "生态环境行政处罚",
        "Environmental penalty",
        C.ADMINISTRATIVE_PENALTY,
        "《中华人民共和国环境保护法》第五十九条",
        L.LAW,
        "mee",
        S.GENERAL,
        True,
    ),
    (
        "penalty-safety",
        "安全生产行政处罚",
        "Work safety penalty",
        C.ADMINISTRATIVE_PENALTY,
        "《中华人民共和国安全生产法》第九十九条",
        L.LAW,
        "mem",
        S.GENERAL,
        True,
    ),
    (
        "serious-market",
        "市场监管严重违法失信名单",
        "Market regulation serious-dishonesty list",
        C.SERIOUS_DISHONESTY,
        "《企业信息公示暂行条例》第十八条",
        L.ADMINISTRATIVE_REGULATION,
        "samr",
        S.SERIOUS,
        True,
    ),
    (
        "serious-tax",
        "重大税收违法失信主体",
        "Major tax violators",
        C.SERIOUS_DISHONESTY,
        "《中华人民共和国税收征收管理法》第四十五条",
        L.LAW,
        "tax",
        S.SERIOUS,
        True,
    ),
    (
        "abnormal-operation",
        "经营异常名录",
        "Abnormal-operation list",
        C.ABNORMAL_OPERATION,
        "《企业信息公示暂行条例》第十七条",
        L.ADMINISTRATIVE_REGULATION,
        "samr",
        S.GENERAL,
        True,
    ),
    (
        "key-attention-safety",
        "安全生产失信重点关注名单",
        "Work safety key-attention list",
        C.KEY_ATTENTION,
        "《中华人民共和国安全生产法》第七十八条",
        L.LAW,
        "mem",
        S.GENERAL,
        True,
    ),
    (
        "judgment-debtor",
        "失信被执行人",
        "Dishonest persons subject to enforcement",
        C.DISHONEST_JUDGMENT_DEBTOR,
        "《中华人民共和国民事诉讼法》第二百六十六条",
        L.LAW,
        "court",
        S.SERIOUS,
        False,
    ),
    (
        "red-tax-a",
        "纳税信用A级纳税人",
        "Grade-A tax credit taxpayers",
        C.RED_LIST,
        "《关于对纳税信用A级纳税人实施联合激励措施的合作备忘录》（发改财金〔2016〕1467号）",
        L.CENTRAL_POLICY,
        "tax",
        "",
        False,
    ),
    (
        "red-customs-aeo",
        "海关高级认证企业",
        "Customs authorised economic operators",
        C.RED_LIST,
        "《中华人民共和国海关法》第四十五条",
        L.LAW,
        "customs",
        "",
        False,
    ),
    (
        "commitment",
        "信用承诺",
        "Credit commitment",
        C.CREDIT_COMMITMENT,
        "《国务院办公厅关于加快推进社会信用体系建设构建以信用为基础的新型监管机制的指导意见》"
        "（国办发〔2019〕35号）",
        L.CENTRAL_POLICY,
        "ndrc",
        "",
        False,
    ),
    (
        "penalty-shared",
        "行政检查结果（部门共享）",
        "Inspection results (shared between departments)",
        C.ADMINISTRATIVE_PENALTY,
        "《优化营商环境条例》第五十四条",
        L.ADMINISTRATIVE_REGULATION,
        "samr",
        S.GENERAL,
        True,
    ),
]

SHARED_ONLY = {"penalty-shared": DisclosureAttribute.SHARED}

# Which kinds of entity each item's records may concern (信用主体类型), by its legal basis.
# Licences, penalties, serious-dishonesty and key-attention lists, judgment debtors and
# commitments may concern natural persons as well; the qualifications, permits and grades
# that only a market entity can hold, the abnormal-operation list (market entities that
# failed their reporting duties) and inspections of enterprises' annual reports concern
# organisations only.
ORGANISATIONS, BOTH = Subjects.ORGANISATIONS, Subjects.BOTH
SUBJECTS = {
    "licence-general": BOTH,
    "licence-food": ORGANISATIONS,  # 食品经营者: a market entity
    "licence-construction": ORGANISATIONS,  # 建筑业企业资质
    "penalty-simple": BOTH,  # 简易程序: citizens up to 200 yuan, organisations up to 3,000 yuan
    "penalty-market": BOTH,
    "penalty-tax": BOTH,
    "penalty-environment": BOTH,
    "penalty-safety": BOTH,  # also the persons in charge (《安全生产法》)
    "serious-market": BOTH,
    "serious-tax": BOTH,  # 重大税收违法失信主体: natural persons too
    "abnormal-operation": ORGANISATIONS,
    "key-attention-safety": BOTH,
    "judgment-debtor": BOTH,
    "red-tax-a": ORGANISATIONS,  # 纳税信用评价: enterprise taxpayers
    "red-customs-aeo": ORGANISATIONS,  # 海关认证企业
    "commitment": BOTH,
    "penalty-shared": ORGANISATIONS,  # annual reports of enterprises (《企业信息公示暂行条例》)
}

# What each kind of record typically says: (facts, legal basis cited, outcome, amount range).
WORDING = {
    "penalty-simple": [
        ("未在经营场所醒目位置悬挂营业执照。", "《市场主体登记管理条例》第三十六条", "警告", None),
        ("销售商品未明码标价。", "《中华人民共和国价格法》第十三条", "罚款", (200, 1000)),
    ],
    "penalty-market": [
        (
            "销售不符合食品安全标准的食品。",
            "《中华人民共和国食品安全法》第一百二十四条",
            "没收违法所得，罚款",
            (20000, 200000),
        ),
        ("发布虚假广告，欺骗、误导消费者。", "《中华人民共和国广告法》第五十五条", "罚款", (30000, 300000)),
        (
            "生产销售不合格产品。",
            "《中华人民共和国产品质量法》第四十九条",
            "没收违法产品，罚款",
            (10000, 150000),
        ),
    ],
    "penalty-tax": [
        (
            "少缴增值税，构成偷税。",
            "《中华人民共和国税收征收管理法》第六十三条",
            "追缴税款，处少缴税款百分之五十罚款",
            (50000, 800000),
        ),
        ("未按规定期限办理纳税申报。", "《中华人民共和国税收征收管理法》第六十二条", "罚款", (2000, 10000)),
    ],
    "penalty-environment": [
        (
            "超过大气污染物排放标准排放污染物。",
            "《中华人民共和国大气污染防治法》第九十九条",
            "责令限制生产，罚款",
            (100000, 1000000),
        ),
        (
            "未依法进行环境影响评价擅自开工建设。",
            "《中华人民共和国环境影响评价法》第三十一条",
            "责令停止建设，罚款",
            (50000, 500000),
        ),
    ],
    "penalty-safety": [
        (
            "未按规定对从业人员进行安全生产教育和培训。",
            "《中华人民共和国安全生产法》第九十七条",
            "责令限期改正，罚款",
            (10000, 100000),
        ),
        (
            "重大事故隐患未采取措施消除。",
            "《中华人民共和国安全生产法》第一百零二条",
            "责令停产停业整顿，罚款",
            (50000, 200000),
        ),
    ],
    "penalty-shared": [
        ("双随机抽查发现年报信息与实际不符。", "《企业信息公示暂行条例》第十四条", "责令改正", None),
    ],
    "serious-market": [
        (
            "因提交虚假材料取得公司登记被撤销登记。",
            "《市场监督管理严重违法失信名单管理办法》第九条",
            "列入严重违法失信名单",
            None,
        ),
        (
            "被列入经营异常名录届满三年仍未履行相关义务。",
            "《企业信息公示暂行条例》第十八条",
            "列入严重违法失信名单",
            None,
        ),
    ],
    "serious-tax": [
        (
            "虚开增值税专用发票。",
            "《重大税收违法失信主体信息公布管理办法》第六条",
            "公布为重大税收违法失信主体",
            (500000, 5000000),
        ),
    ],
    "abnormal-operation": [
        ("未按规定期限公示年度报告。", "《企业信息公示暂行条例》第十七条", "列入经营异常名录", None),
        (
            "通过登记的住所或者经营场所无法联系。",
            "《市场主体登记管理条例实施细则》第七十一条",
            "列入经营异常名录",
            None,
        ),
    ],
    "key-attention-safety": [
        (
            "一年内受到两次以上安全生产行政处罚。",
            "《中华人民共和国安全生产法》第七十八条",
            "列入重点关注名单",
            None,
        ),
    ],
    "judgment-debtor": [
        (
            "有履行能力而拒不履行生效法律文书确定的义务。",
            "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
            "纳入失信被执行人名单",
            (10000, 2000000),
        ),
    ],
    "licence-general": [("准予设立登记。", "《市场主体登记管理条例》第十九条", "准予许可", None)],
    "licence-food": [
        (
            "申请食品经营许可，经审查符合条件。",
            "《食品经营许可和备案管理办法》第二十条",
            "准予许可，核发食品经营许可证",
            None,
        )
    ],
    "licence-construction": [
        ("申请施工总承包三级资质，经审查符合标准。", "《建筑业企业资质管理规定》第十一条", "准予许可", None)
    ],
    "red-tax-a": [
        ("年度纳税信用评价为A级。", "《纳税信用管理办法》第二十条", "评定为纳税信用A级纳税人", None)
    ],
    "red-customs-aeo": [
        (
            "经认证符合海关高级认证企业标准。",
            "《中华人民共和国海关注册登记和备案企业信用管理办法》第十条",
            "认证为高级认证企业",
            None,
        )
    ],
    "commitment": [
        (
            "申请行政许可时作出信用承诺，承诺所提交材料真实有效。",
            "《国务院办公厅关于加快推进社会信用体系建设构建以信用为基础的新型监管机制的指导意见》",
            "信用承诺",
            None,
        )
    ],
}

# Licences, red lists and commitments are not penalty decisions: their documents say so.
VALIDITY_PREFIX = {"licence": "许准字", "red_list": "信评字", "commitment": "信诺字"}

DECISION_PREFIX = {
    "samr": "市监处罚",
    "tax": "税稽罚",
    "mee": "环罚",
    "mem": "应急罚",
    "mohurd": "建许",
    "court": "执",
    "customs": "关认",
    "ndrc": "信诺",
}
