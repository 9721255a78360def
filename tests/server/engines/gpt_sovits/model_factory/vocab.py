"""Synthetic BERT vocabularies and the tokenizer files that go with them.

The engine must tokenize with the ``vocab.txt`` it finds in the model folder, so a synthetic
vocabulary is as good as the real one for random weights -- as long as it has the layout that
matters: the special tokens at their usual ids (``[PAD]`` 0, ``[UNK]`` 100, ``[CLS]`` 101,
``[SEP]`` 102, ``[MASK]`` 103), single characters, and ``##`` continuation pieces for ASCII.

* ``full``: 21128 tokens like the real chinese-roberta-wwm-ext-large vocabulary (all of
  U+4E00..U+9FA5), same layout as the reference harness writes.
* ``micro``: the same head, 2500 common Hanzi (by character frequency in jieba's dictionary)
  plus a few guaranteed ones, and ``##a``..``##z``, ``##0``..``##9``; about 2.8k tokens, which
  shrinks the two 1024-wide embedding matrices ~8x.

``tokenizer.json`` is rendered exactly as the ``tokenizers`` library serialises a
``BertTokenizerFast`` built on the vocabulary (2-space indent, UTF-8, no trailing newline).
"""

from __future__ import annotations

import json
from typing import Any, Literal

VocabLayout = Literal["full", "micro"]
FULL_SIZE = 21128
SPECIALS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}
CJK_PUNCTUATION = "…—“”‘’，。！？、：；（）《》·～"
# Characters the parity texts need, whatever the frequency list says.
REQUIRED_HANZI = (
    "今天是年月日我们花了元买的股份你好吗一个小鸟儿在树上唱歌不要担心用模型生成语音效果很好"
    "这测试气起去公园散步吧零二三四五六七八九十百千万亿点两负之分"
)
# The 2500 most frequent Hanzi in jieba 0.42.1's dict.txt (word frequency summed per
# character, ties by code point), in code-point order.
COMMON_HANZI = (
    "一丁七万丈三上下不与丐丑专且世丘业丛东丝丞丢两严丧个丫中丰串临丹为主丽举乃久么义之乌乎乏乐乔乘乙九也习乡书买乱乳乾了予争事二于亏云互五井亚些亡交亥亦产亩享京亭亮亲人亿什仁仅仆仇今介"
    "仍从仓仔他仗付仙代令以仪们仰仲件价任份仿企伊伍伏伐休众优伙会伞伟传伤伦伪伯估伴伸似但位低住佐体何余佛作你佣佩佳佸使侄例侍供依侠侦侧侨侯侵便促俄俊俗俘保俞信俩修俱俺倍倒倘候借倡债值倾"
    "假偏做停健偶偷偿傅储催傲傻像僚僧僭僵儒儿允元兄充兆先光克免兑党入全八公六兰共关兴兵其具典兹养兼兽内冈册再冒写军农冠冤冬冯冰冲决况冶冷冻净准凉凌减凑凝几凡凤凭凯凶出击函刀刃分切刊刑划"
    "列刘则刚创初判利别刮到制刷券刺刻剂剉削前剑剥剧剩剪副割力劝办功加务劣动助努劫励劲劳势勃勇勋勒勤勾包匆匈化北匠匹区医匾十千升午半华协卑卒卓单卖南博卜占卡卢卦卧卫印危即却卵卷卸卿厂厅历"
    "厉压厌厘厚原厦厨厮去县参又叉及友双反发叔取受变叙叛叠口古句另叩只叫召可台史右叶号司叹吃各合吉吊同名后吏吐向吓吕吗君吞吟否吧吨吩含听启吴吵吸吹吻吾呀呆呈告员呢周味呵呼命和咐咨咬咱咳咸"
    "咽哀品哄哈哊响哑哥哦哨哩哪哭哲哼唇唉唐唤售唯唱商啊啥啦喀喂善喇喉喊喘喜喝喷喻嗣嘉嘛嘴嘿器囊四回因团园困围固国图圆圈土圣在地圳场址均坊坏坐坑块坚坛坝坟坡坤坦垂型垸埃埋城域培基堂堆堡堤"
    "堪堰堵塑塔塘塞填境墓墙增墨墩壁壤士壮声壳壶处备复夏夕外多夜够大天太夫央失头夷夸夹夺奇奈奉奋奏契奔奖套奠奥女奴奶奸她好如妃妄妇妈妖妙妥妨妹妻姆姊始姐姑姓委姚姜姻姿威娃娇娘娜娱娶婆婚婴"
    "婶媒媳嫁嫂嫌嫩子孔孕字存孙孝孟季孤学孩宁它宅宇守安宋完宏宗官宙定宛宜宝实宠审客宣室宪宫宰害宴家宸容宽宾宿寂寄密富寒察寡寨寸对寺寻导寿封射将尉尊小少尔尖尘尚尝尤就尸尹尺尼尽尾尿局屁层"
    "居屈届屋屏展属屠屡履屯山屼屽屾岁岂岗岛岩岭岳岸峡峰峻崇崖崩川州巡巢工左巧巨巩差己已巴巷巾币市布帅师希帐帕帖帝带席帮常帽幅幕干平年并幸幺幻幼幽广庄庆床序库应底店庙府庞废度座庭康庸廉廊"
    "延廷建开异弃弄式弓引弗弟张弥弦弯弱弹强归当录形彩彪彭影役彻彼往征径待很律徐徒得御循微德徽心必忆忌忍志忘忙忠忧快念忽怀态怎怒怔怕怖怜思急性怨怪总恋恐恒恢恨恩恭息恰恶恼悄悉悔悟悠患悦您"
    "悬悲情惊惑惜惟惠惧惨惩惯想惹愁愈意愚感愤愧愿慈慌慎慕慢慧慨慰懂戈戏成我戒或战戚截戴户房所扁扇手才扎扑打扔托扣执扩扫扬扭扮扯扰扶批找承技抄把抑抓投抖抗折抚抛抢护报披抬抱抵抹押抽担拆拉"
    "拍拐拒拓拔拖招拜拟拥拦拨择括拱拳拼拾拿持挂指按挑挖挡挣挤挥挨挪振挺挽捉捐捕捞损换捧据捷掀授掉掌掏排掘掠探接控推掩措掷描提插握揭援搜搞搬搭携摄摆摇摊摔摘摩摸撑撒撞撤播撰擅操擒擦攀支收"
    "改攻放政故效敌敏救教敢散敦敬数敲整文斋斑斗料斜斤斥斩断斯新方施旁旅旋族旗无既日旦旧旨早旬旭旱时旺昂昆昌明昏易昔星映春昨昭是显晃晋晒晓晕晚晨普景晶智暂暖暗暴曰曲更曹曼曾替最月有朋服朕"
    "朗望朝期木未末本术朱朴朵机杀杂权杆杉李材村杖杜束条来杨杩杭杯杰松板极构析枕林枚果枝枢枣枪枯架柄柏某染柔柜查柯柱柳柴标栏树栖校株样核根格栽桂桃案桌桐桑档桥梁梅梦梯械检棉棋棍棒棚棣森棺"
    "椅植椒楚楼概榜槸槽模横檐欠次欢欣欧欲欺款歇歌止正此步武死歼殊残殑殖段殷殿毁毅母每毒比毕毛毫氏民气氛氢氧氨氯水永汁求汇汉汗汝江池污汤汪汽沃沈沉沔沙沟没沪河油治沿泄泉泊泌法泛泡波泥注泪"
    "泰泼泽洁洋洒洗洛洞津洪洲活派流浅浆测济浑浓浙浜浠浣浦浩浪浮海浸涂消涉涌涓涔涛润涨液涵淋淡淮深混添清渊渐渔渗渠渡温港渴游湖湘湾湿溃源溜溪溶滋滑滚滞满滨滩滴漂漆漏演漠漫潜潭潮澳澶激灌火"
    "灭灯灰灵灾炉炎炒炭炮炸点炼烂烈烛烟烤烦烧热焕焚焦然煌煎煤照煮熊熔熙熟燃燕燥爆爪爬爱爵父爷爸爹爽片版牌牙牛牢牧物牲牵特牺犯状犹狂狐狗狠独狭狮狱狼猎猛猜猪猫献猴玄率玉王玛玩环现玻珊珍珞"
    "珠班球理琉琴瑜瑞瑶璃璇璋瓜瓦瓶瓷甘甚甜生用甫田由甲申电男甸画畅界畏留畜略番畴疆疏疑疗疫疯疲疼疾病症痕痛瘤瘦癌登白百的皆皇皮皱盆盈益盐监盒盖盗盘盛盟目盯盲直相盼盾省眉看真眠眼着睁睛睡"
    "督瞎瞒瞧瞪瞬矛矣知矩短矮石矿码砂砍研砖破砸础硅硕硫硬确碍碎碑碗碧碰碱碳磁磕磨磷示礼社祀祖祝神祥票祭祯祸禀禁禅福禧离秀私秉秋种科秒秘租秦秩积称移稀程稍税稳稷稻稿穆穴究穷空穿突窄窑窗窝"
    "窟立竖站竞竟章童竭端竴竹笉笑笔符第笼等筋筑筒答策筹签简算管箭箱篇篮簡籍米类粉粒粗粘粮精糊糕糖糟系紝素索紧紫累繁纠红纤约级纪纬纯纱纲纳纵纷纸纹纺纽线练组细织终绍经结绕绘给络绝统绣继绩"
    "绪续绳维绵综绿缓编缘缝缠缩缺罐网罕罗罚罢罩罪置署羊美羞群羽翁翅翠翰翻翼耀老考者而耐耕耗耳耶耻聊职联聘聚聪肃肆肉肌肖肚肝肠股肢肤肥肩肯育肴肺肾肿胀胁胃胆背胎胖胜胞胡胶胸能脂脆脉脊脏脑"
    "脖脚脱脸脾腊腐腔腕腰腹腺腾腿膀膏膜膨臂臣自臭至致舅舆舌舍舒舞舟航般舰舱船艇艘良艰色艳艺艾节芒芙芝芦芬芯花芳苍苏苗若苦苯英茂范茅茨茫茶荆草荐荒荡荣药荷莫莱莲获菌菜菱菲萄营萧萨落著葛葡"
    "董葬蒂蒋蒙蒸蓄蓉蓝蓬蔡蔬薄薪藏藕藻虎虑虚虫虹虽虾蚀蛇蛋蛮蜀蜂蜜蜡融螺血行衍衔街衙衡衣补表衫衰衷袁袋袍袖被袭裁裂装裕裤裹襄西要覆见观规视览觉角解触言誉誓警计订认讨让训议讯记讲许论讼设"
    "访证评识诉诊词诏译试诗诚话诞询该详语误诱说请诸诺读课谁调谅谈谊谋谐谓谢谦谨谭谱谷豆象豪豫豹貌贝贞负贡财责贤败账货质贩贪贫购贯贴贵贷贸费贺贼贾资赋赌赏赐赔赖赚赛赞赢赤赫走赴赵赶起趁超"
    "越趋趣足跃跌跑距跟跨跪路跳践踏踢踪蹈身躲躺车轨轩转轮软轰轴轻载轿较辅辆辈辉辐辑输辖辛辞辟辣辨辩辰辱边辽达迁迅过迈迎运近返还这进远违连迟迪迫述迷迹追退送适逃逆选逊透逐递途通逝速造逢逸"
    "逻逼遂遇遍道遗遣遥遭遮遵避邀邓那邦邪邮邻郁郊郎郑郡郧部郭都鄂配酒酬酷酸醇醉醒采释里重野量金鈥鉴銆鍙鍦鏄鏈鐨针钉钟钢钦钧钩钱钻铁铅铜铭银铸铺链销锁锅锋锐错锛锡锦键镇镑镜长门闪闭问闯闲"
    "间闷闹闻阀阁阅阐阔阙队防阳阴阵阶阻阿陀附际陆陈降限陕陛院除险陪陵陶陷隆隋随隐隔隙障隶难雀雄雅集雇雌雕雨雪零雷雾需震霉霍霖霜霞露霸青靖静非靠面革鞋鞭韦韩音韵页顶顷项顺须顽顾顿颁预领颇"
    "颈频颗题颜额颠颤风飘飞食餐饭饮饰饱饲饶饼饿馆首香马驰驱驶驻驾骂验骑骗骨高鬼魂魏魔鱼鲁鲜鳍鳞鸟鸡鸣鸭鸿鹅鹏鹤鹰鹿麦麻黄黎黑默鼎鼓鼠鼻齐齿龄龙龟"
)


def _head() -> list[str]:
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)]
    tokens += ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "<T>"]
    tokens += [chr(c) for c in range(33, 127) if not "A" <= chr(c) <= "Z"]  # lower-cased input
    tokens += list(CJK_PUNCTUATION)
    return tokens


def build_vocab(layout: VocabLayout) -> list[str]:
    """The token list of a synthetic vocabulary (index = token id)."""
    tokens = _head()
    pieces = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    if layout == "full":
        tokens += [chr(c) for c in range(0x4E00, 0x9FA6)]
        tokens += pieces[: FULL_SIZE - len(tokens)]
    elif layout == "micro":
        tokens += sorted(set(COMMON_HANZI) | set(REQUIRED_HANZI))
        tokens += pieces
    else:
        raise ValueError(f"unknown vocab layout {layout!r}")
    if len(set(tokens)) != len(tokens):
        raise AssertionError("duplicate tokens in the synthetic vocabulary")
    if any(tokens[i] != tok for tok, i in SPECIALS.items()):
        raise AssertionError("special tokens moved")
    return tokens


def detect_layout(tokens: list[str]) -> VocabLayout | None:
    """Which synthetic layout a vocabulary is, or None for any other vocabulary."""
    for layout in ("full", "micro"):
        if tokens == build_vocab(layout):
            return layout
    return None


def render_vocab_txt(tokens: list[str]) -> bytes:
    return ("\n".join(tokens) + "\n").encode("utf-8")


def render_tokenizer_json(tokens: list[str]) -> bytes:
    """``tokenizer.json`` of a lower-casing BERT WordPiece tokenizer over ``tokens``."""

    def added(content: str) -> dict[str, Any]:
        return {
            "id": SPECIALS[content],
            "content": content,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }

    def special(name: str, type_id: int) -> dict[str, Any]:
        return {"SpecialToken": {"id": name, "type_id": type_id}}

    def sequence(name: str, type_id: int) -> dict[str, Any]:
        return {"Sequence": {"id": name, "type_id": type_id}}

    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(t) for t in sorted(SPECIALS, key=SPECIALS.__getitem__)],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": True,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)],
            "pair": [
                special("[CLS]", 0),
                sequence("A", 0),
                special("[SEP]", 0),
                sequence("B", 1),
                special("[SEP]", 1),
            ],
            "special_tokens": {
                name: {"id": name, "ids": [SPECIALS[name]], "tokens": [name]}
                for name in ("[CLS]", "[SEP]")
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {tok: i for i, tok in enumerate(tokens)},
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
