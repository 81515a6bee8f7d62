"""Realistic Chinese names for demo entities, drawn from a seeded random generator."""

import random

CITIES = [
    ("110105", "北京"),
    ("110108", "北京"),
    ("310115", "上海"),
    ("310104", "上海"),
    ("440305", "深圳"),
    ("440106", "广州"),
    ("330106", "杭州"),
    ("320506", "苏州"),
    ("510107", "成都"),
    ("420106", "武汉"),
    ("610113", "西安"),
    ("370102", "济南"),
    ("500103", "重庆"),
    ("120101", "天津"),
    ("350203", "厦门"),
    ("430104", "长沙"),
    ("410105", "郑州"),
    ("210202", "大连"),
    ("530102", "昆明"),
    ("450103", "南宁"),
]
DISTRICTS = {
    "110105": "朝阳区",
    "110108": "海淀区",
    "310115": "浦东新区",
    "310104": "徐汇区",
    "440305": "南山区",
    "440106": "天河区",
    "330106": "西湖区",
    "320506": "吴中区",
    "510107": "武侯区",
    "420106": "武昌区",
    "610113": "雁塔区",
    "370102": "历下区",
    "500103": "渝中区",
    "120101": "和平区",
    "350203": "思明区",
    "430104": "岳麓区",
    "410105": "金水区",
    "210202": "中山区",
    "530102": "五华区",
    "450103": "青秀区",
}
TRADE_NAME_CHARS = "华鑫盛宏泰瑞恒达博源嘉信诚天锦新远金宇创汇德丰安康明辉腾讯飞凯正和兴隆永佳润海"
INDUSTRIES = [
    "科技",
    "电子科技",
    "食品",
    "建筑工程",
    "贸易",
    "物流",
    "餐饮管理",
    "医药",
    "环保科技",
    "机械制造",
    "房地产开发",
    "信息技术",
    "文化传媒",
    "农业开发",
    "化工",
    "新能源",
    "生物科技",
    "服装",
    "家具",
    "汽车销售",
]
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司"]
SHOPS = ["便利店", "餐馆", "五金店", "理发店", "水果店", "烧烤店", "药店", "服装店", "修车行", "茶叶店"]
ASSOCIATIONS = ["餐饮行业协会", "软件行业协会", "物流协会", "慈善总会", "养老服务协会", "建筑业协会"]
PRIVATE_NON_ENTERPRISE = ["职业培训学校", "养老院", "幼儿园", "社会工作服务中心"]
FOUNDATIONS = ["教育基金会", "扶贫基金会", "医疗救助基金会"]
INSTITUTIONS = ["第一人民医院", "中心医院", "第三中学", "实验小学", "疾病预防控制中心", "图书馆"]
GOVERNMENT = ["人民政府", "交通运输局", "教育局", "卫生健康委员会", "水务局", "城市管理局"]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红海鹏辉斌宇浩凯"
PROFESSIONS = ["注册会计师", "执业律师", "执业药师", "注册建造师", "房地产经纪人"]


def trade_name(rng: random.Random) -> str:
    return "".join(rng.sample(TRADE_NAME_CHARS, 2))


def enterprise_name(rng: random.Random, city: str) -> str:
    return f"{city}{trade_name(rng)}{rng.choice(INDUSTRIES)}{rng.choice(SUFFIXES)}"


COOPERATIVE_TRADES = ["果蔬", "养殖", "茶叶", "粮食种植", "农机"]


def cooperative_name(rng: random.Random, city: str) -> str:
    return f"{city}{trade_name(rng)}{rng.choice(COOPERATIVE_TRADES)}专业合作社"


def individual_business_name(rng: random.Random, division: str) -> str:
    return f"{DISTRICTS[division]}{trade_name(rng)}{rng.choice(SHOPS)}"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
