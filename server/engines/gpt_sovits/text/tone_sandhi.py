"""Mandarin tone sandhi on dictionary pinyin, as the GPT-SoVITS front end applies it.

pypinyin gives citation tones per word; spoken Mandarin changes some of them. This module
reproduces the reference front end's rules (which come from PaddleSpeech) on jieba words:

- 不 becomes bu2 before a fourth tone and neutral inside ``X不X`` (看不懂);
- 一 becomes yi2 before a fourth tone, yi4 before other tones, neutral in ``X一X`` (看一看),
  keeps yi1 in ordinals (第一) and digit strings (一二三);
- neutral tone (5) for reduplicated nouns/verbs/adjectives, sentence particles, 的/地/得,
  aspect markers 了/着/过, plural/nominal 们/子, locatives 上/下/里, directional 来/去,
  the measure word 个, and a list of words whose last syllable is conventionally neutral;
- third-tone sandhi: 3-3 -> 2-3 inside two-, three- and four-syllable words, with three-syllable
  words split into 2+1 or 1+2 by jieba's search segmentation.

Before that, ``pre_merge`` regroups jieba's words so the rules see whole units: 不 and 一 join the
next word, ``听 一 听`` joins, repeated words join, short runs of third-tone words join, and 儿
joins the word before it.

Finals are pypinyin FINALS_TONE3 strings with the tone digit last (``"ao3"``); punctuation
entries are the mark itself. Lists of finals are never modified in place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import jieba
from pypinyin import Style, lazy_pinyin

Word = tuple[str, str]  # (text, jieba part-of-speech tag)


def _word_set(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string (compact for long lists)."""
    return frozenset(words.split())


# Words whose final syllable is read in the neutral tone (sorted by code point).
_NEUTRAL_WORDS = _word_set(
    "一辈 丈人 丈夫 上司 上头 下巴 下水 不在 不由 世故 东家 东西 两口 丧气 丫头 "
    "主意 买卖 事情 云彩 交情 亲家 亲戚 人家 什么 介绍 休息 伙计 似的 位置 体面 "
    "作坊 佩服 使唤 便宜 倒腾 兄弟 先生 关系 养活 冒失 冤家 冤枉 冷战 凉快 凑合 "
    "凤凰 出息 分析 利害 利索 利落 别扭 刺激 刺猬 前头 力气 功夫 动弹 动静 勤快 "
    "匀称 包涵 包袱 千斤 厉害 厚道 口袋 叫唤 吆喝 合同 吉他 名堂 名字 后头 吓唬 "
    "含糊 告示 告诉 和尚 咕噜 咖喱 咳嗽 哆嗦 哈欠 哑巴 唾沫 商量 喇叭 喇嘛 喉咙 "
    "喜欢 喽啰 嘀咕 嘟囔 嘱咐 嘴巴 困难 在乎 地方 地道 壮实 外甥 多么 多少 大人 "
    "大夫 大意 大方 大爷 太阳 头发 女婿 奴才 妖精 妥当 妯娌 姐夫 姑娘 委屈 姥爷 "
    "娘家 婆家 媒人 媳妇 嫁妆 字号 学生 学问 官司 实在 客气 家伙 寒碜 寡妇 对付 "
    "对头 将就 小伙 小气 少爷 尾巴 屁股 岁数 工夫 差事 巴掌 巴结 师傅 师父 希罕 "
    "帐篷 帮手 干事 幸福 庄稼 应酬 开通 弄堂 弟兄 张罗 得罪 心思 志气 忙活 快活 "
    "念叨 念头 怎么 思量 怪物 悟性 情形 惦记 意思 意识 懒得 戒指 扁担 扎实 扑腾 "
    "打发 打听 打扮 打点 打算 打量 扫帚 扫把 折腾 护士 报复 抬举 拖沓 招呼 招牌 "
    "拨弄 拳头 拾掇 指头 指甲 挑剔 挖苦 提防 收成 收拾 故事 新鲜 时候 明白 暖和 "
    "月亮 月饼 朋友 木匠 木头 本事 机灵 枇杷 枕头 架势 柴火 栅栏 核桃 棉花 棒槌 "
    "棺材 槟榔 模糊 欺负 正经 母亲 比方 泥鳅 活泼 浪头 消息 清楚 温和 溜达 滑溜 "
    "漂亮 火候 灯笼 炊帚 点心 烂糊 烟筒 烧饼 热闹 照顾 熟悉 爱人 父亲 爽快 牌楼 "
    "牙碜 牢骚 牲口 特务 状元 狐狸 玄乎 玫瑰 玻璃 琉璃 琢磨 琵琶 甘蔗 甜头 生意 "
    "畜生 疏忽 疙瘩 疟疾 痛快 痢疾 白净 盘算 盘缠 相声 眉毛 眨巴 眯缝 眼睛 知识 "
    "石匠 石头 石榴 码头 砚台 祖宗 福气 秀才 秀气 秧歌 称呼 稀罕 稳当 窗户 窝囊 "
    "窟窿 笑话 笑语 笤帚 答应 算盘 算计 篱笆 簸箕 粮食 精神 糊涂 糟蹋 糨糊 累赘 "
    "红火 结实 编辑 罐头 罗嗦 翻腾 老太 老头 老婆 老实 老爷 耳朵 耷拉 耽搁 耽误 "
    "聪明 胡同 胡琴 胡萝 胭脂 胳膊 能耐 脊梁 脑袋 脾气 膏药 自在 舌头 舒坦 舒服 "
    "芝麻 苍蝇 苗头 苗条 荒唐 荸荠 菩萨 萝卜 葡萄 葫芦 薄荷 蘑菇 蚂蚱 蛤蟆 蜡烛 "
    "行当 行李 街坊 衙门 衣服 衣裳 补丁 裁缝 见识 规矩 计划 认识 记号 记性 讲究 "
    "豆腐 财主 费用 趔趄 跟头 跳蚤 踏实 转悠 软和 过去 运气 这个 这么 连累 迷糊 "
    "造化 逻辑 道士 邋遢 那个 那么 部分 里头 里脊 钥匙 铁匠 铃铛 铺盖 锄头 门道 "
    "闺女 阔气 队伍 难为 风筝 馄饨 馒头 首饰 马虎 骆驼 骨头 高粱 鸳鸯 麻利 麻烦"
)

# Words that look like neutral-tone patterns (reduplication, -子, -们) but keep their tones.
_KEEP_TONE_WORDS = _word_set(
    "人人 以下 佼佼 冉冉 分子 卵子 原子 吵吵 哈哈 女子 娃哈哈 学子 家家户户 局地 "
    "干嘛 幺幺 恳恳 想想 打打 攘攘 数数 整整 死死 熙熙 瓜子 电子 男子 留得 石子 "
    "算子 考考 耕地 花花草草 莘莘 莲子 落地 虎虎 袅袅 量子 青青"
)

_PARTICLES = "啊吖吧呐呢哈哒哟哦哩啰喔喽嗨嘛噻耶诶额滴"
_STRUCTURAL = "的地得"
_ASPECT = "了着过"
_LOCATIVES = "上下里"
_DIRECTIONAL_HEADS = "上下进出回过起开"
_GE_COUNTERS = "几有两半多各整每做是"
# After 一, these marks keep it in the first tone.
_PAUSE_MARKS = "：，；。？！“”‘’':,;.?!"


_jieba_lock = threading.Lock()
_jieba_ready = False


def ensure_jieba() -> None:
    """Load jieba's default dictionary once (about 1 s), quietly; later calls are free.

    jieba 0.42.1 is used in place of the reference's jieba_fast: same dictionary and
    algorithms, and the same words and tags on every text checked.
    """
    global _jieba_ready
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True


def _retone(final: str, tone: str) -> str:
    """Replace the tone digit (last character) of a final."""
    return final[:-1] + tone


def _all_third(finals: Iterable[str]) -> bool:
    # An empty final raises IndexError here, exactly where the reference does (see pre_merge).
    return all(f[-1] == "3" for f in finals)


def _word_finals(word: str) -> list[str]:
    return lazy_pinyin(word, neutral_tone_with_five=True, style=Style.FINALS_TONE3)


def split_in_two(word: str) -> tuple[str, str]:
    """Split a word at its shortest jieba search sub-word: (head, tail), one may be ''.

    If that sub-word starts the word it is the head; otherwise it is assumed to end the word
    and becomes the tail (the reference's assumption, kept even when it sits in the middle).
    """
    ensure_jieba()
    shortest = min(jieba.cut_for_search(word), key=len)  # first of the shortest
    if word.find(shortest) == 0:
        return shortest, word[len(shortest) :]
    return word[: -len(shortest)], shortest


def _bu_sandhi(word: str, finals: list[str]) -> list[str]:
    out = list(finals)
    if len(word) == 3 and word[1] == "不":
        out[1] = _retone(out[1], "5")
        return out
    for i, char in enumerate(word[:-1]):
        if char == "不" and out[i + 1][-1] == "4":
            out[i] = _retone(out[i], "2")
    return out


def _yi_sandhi(word: str, finals: list[str]) -> list[str]:
    out = list(finals)
    if "一" in word and all(c.isnumeric() for c in word if c != "一"):
        return out  # a digit string such as 一零一: every 一 stays yi1
    if len(word) == 3 and word[1] == "一" and word[0] == word[2]:
        out[1] = _retone(out[1], "5")
    elif word.startswith("第一"):
        out[1] = _retone(out[1], "1")
    else:
        for i, char in enumerate(word[:-1]):
            if char != "一":
                continue
            if out[i + 1][-1] == "4":
                out[i] = _retone(out[i], "2")
            elif word[i + 1] not in _PAUSE_MARKS:
                out[i] = _retone(out[i], "4")
    return out


def _is_neutral_word(word: str) -> bool:
    return word in _NEUTRAL_WORDS or word[-2:] in _NEUTRAL_WORDS


def _neutral_position(word: str, pos: str) -> int | None:
    """Which syllable of the word a grammatical or lexical rule makes neutral (first rule wins)."""
    last = word[-1]
    several = len(word) > 1
    if last in _PARTICLES or last in _STRUCTURAL:
        return -1
    if len(word) == 1 and last in _ASPECT and pos in ("ul", "uz", "ug"):
        return -1
    if several and last in "们子" and pos in ("r", "n") and word not in _KEEP_TONE_WORDS:
        return -1
    if several and last in _LOCATIVES and pos in ("s", "l", "f"):
        return -1
    if several and last in "来去" and word[-2] in _DIRECTIONAL_HEADS:
        return -1
    ge_index = word.find("个")
    if word == "个" or (
        ge_index >= 1 and (word[ge_index - 1].isnumeric() or word[ge_index - 1] in _GE_COUNTERS)
    ):
        return ge_index
    if _is_neutral_word(word):
        return -1
    return None


def _neutral_sandhi(word: str, pos: str, finals: list[str]) -> list[str]:
    out = list(finals)
    if pos[:1] in ("n", "v", "a") and word not in _KEEP_TONE_WORDS:
        for j in range(1, len(word)):
            if word[j] == word[j - 1]:
                out[j] = _retone(out[j], "5")  # 奶奶, 试试
    target = _neutral_position(word, pos)
    if target is not None:
        out[target] = _retone(out[target], "5")
    # The same list test again on each half (e.g. a compound ending in 东西).
    head, tail = split_in_two(word)
    parts = [out[: len(head)], out[len(head) :]]
    for part, part_finals in zip((head, tail), parts, strict=True):
        if _is_neutral_word(part):
            part_finals[-1] = _retone(part_finals[-1], "5")
    return parts[0] + parts[1]


def _third_tone_sandhi(word: str, finals: list[str]) -> list[str]:
    out = list(finals)
    if len(word) == 2 and _all_third(out):
        out[0] = _retone(out[0], "2")
    elif len(word) == 3:
        head, _ = split_in_two(word)
        if _all_third(out):
            if len(head) == 2:  # 蒙古/包
                out[0], out[1] = _retone(out[0], "2"), _retone(out[1], "2")
            elif len(head) == 1:  # 纸/老虎
                out[1] = _retone(out[1], "2")
        else:
            first, second = out[: len(head)], out[len(head) :]
            if _all_third(first) and len(first) == 2:  # 所有/人
                first[0] = _retone(first[0], "2")
            if _all_third(second) and len(second) == 2:
                second[0] = _retone(second[0], "2")
            elif not _all_third(second) and second[0][-1] == "3" and first[-1][-1] == "3":
                first[-1] = _retone(first[-1], "2")  # 好/喜欢
            out = first + second
    elif len(word) == 4:  # idioms: two pairs
        pairs = [out[:2], out[2:]]
        for pair in pairs:
            if _all_third(pair):
                pair[0] = _retone(pair[0], "2")
        out = pairs[0] + pairs[1]
    return out


def apply_sandhi(word: str, pos: str, finals: list[str]) -> list[str]:
    """The spoken finals of one (pre-merged) word, given its dictionary finals."""
    finals = _bu_sandhi(word, finals)
    finals = _yi_sandhi(word, finals)
    finals = _neutral_sandhi(word, pos, finals)
    return _third_tone_sandhi(word, finals)


# --- regrouping jieba's words before the rules ---------------------------------------------


def _merge_bu(words: list[Word]) -> list[Word]:
    """不 joins the word after it (keeping that word's tag); a final 不 stays alone as 'd'."""
    out: list[Word] = []
    previous = ""
    for text, pos in words:
        if previous == "不":
            text = "不" + text
        if text != "不":
            out.append((text, pos))
        previous = text
    if previous == "不":
        out.append(("不", "d"))
    return out


def _merge_yi(words: list[Word]) -> list[Word]:
    """``V 一 V`` (same verb twice) becomes one word; then a lone 一 joins the next word."""
    joined: list[Word] = []
    i = 0
    while i < len(words):
        text, pos = words[i]
        if 0 < i < len(words) - 1 and text == "一":
            before, after = joined[-1], words[i + 1]
            if before[0] == after[0] and before[1] == "v" and after[1] == "v":
                joined[-1] = (before[0] + "一" + after[0], before[1])
                i += 2
                continue
        joined.append((text, pos))
        i += 1
    out: list[Word] = []
    for text, pos in joined:
        if out and out[-1][0] == "一":
            out[-1] = ("一" + text, out[-1][1])
        else:
            out.append((text, pos))
    return out


def _merge_repeats(words: list[Word]) -> list[Word]:
    """A word equal to the word before it joins it (走 走 -> 走走)."""
    out: list[Word] = []
    for text, pos in words:
        if out and out[-1][0] == text:
            out[-1] = (out[-1][0] + text, out[-1][1])
        else:
            out.append((text, pos))
    return out


def _merge_third_tones(words: list[Word], *, whole_words: bool) -> list[Word]:
    """Join neighbouring words that meet in third tones, if together they have <= 3 characters.

    ``whole_words``: both words must be all third tone; otherwise only the last syllable of the
    first and the first syllable of the second. A reduplicated first word (奶奶) never joins,
    and a word that just joined its predecessor does not take the next one.
    """
    finals = [_word_finals(text) for text, _ in words]
    out: list[Word] = []
    joined_previous = False
    for i, (text, pos) in enumerate(words):
        joined = False
        if i > 0:
            # Tested before ``joined_previous``: an empty final must raise here as it does in
            # the reference, whatever the previous word did.
            if whole_words:
                meets = _all_third(finals[i - 1]) and _all_third(finals[i])
            else:
                meets = finals[i - 1][-1][-1] == "3" and finals[i][0][-1] == "3"
            before = words[i - 1][0]
            redup = len(before) == 2 and before[0] == before[1]
            if meets and not joined_previous and not redup and len(before) + len(text) <= 3:
                out[-1] = (out[-1][0] + text, out[-1][1])
                joined = True
        if not joined:
            out.append((text, pos))
        joined_previous = joined
    return out


def _merge_er(words: list[Word]) -> list[Word]:
    """儿 joins the word before it (unless that word is '#')."""
    out: list[Word] = []
    for i, (text, pos) in enumerate(words):
        if i > 0 and text == "儿" and words[i - 1][0] != "#":
            out[-1] = (out[-1][0] + text, out[-1][1])
        else:
            out.append((text, pos))
    return out


def _tolerant(step: Callable[[list[Word]], list[Word]], words: list[Word]) -> list[Word]:
    """Run a regrouping step; if it fails, keep the words as they were.

    The reference skips a step that raises (it does for characters whose pypinyin final is
    empty, such as 呒); the same fallback keeps both front ends on the same words.
    """
    try:
        return step(words)
    except Exception:  # noqa: BLE001 - mirrors the reference's catch-all fallback
        return words


def pre_merge(words: list[Word]) -> list[Word]:
    """Regroup jieba's (word, tag) list so that the sandhi rules see whole units."""
    words = _merge_bu(words)
    words = _tolerant(_merge_yi, words)
    words = _merge_repeats(words)
    words = _tolerant(lambda w: _merge_third_tones(w, whole_words=True), words)
    words = _tolerant(lambda w: _merge_third_tones(w, whole_words=False), words)
    return _merge_er(words)


__all__ = ["Word", "apply_sandhi", "ensure_jieba", "pre_merge", "split_in_two"]
