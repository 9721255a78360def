"""Fixed English test sentences for intelligibility and similarity scoring.

Written for this benchmark: everyday vocabulary, varied sentence shapes and lengths, a
few numbers and dates to exercise the text front end.
"""

SENTENCES: tuple[str, ...] = (
    "The morning train was late again, so we walked to the office.",
    "Please put the green cups on the top shelf of the cupboard.",
    "A cold wind blew across the open field all afternoon.",
    "My sister planted tomatoes and beans behind the garage.",
    "Can you tell me where the nearest post office is?",
    "The children laughed when the puppy chased its own tail.",
    "He forgot his umbrella and came home soaking wet.",
    "We need three loaves of bread and a dozen eggs.",
    "The museum opens at nine and closes at five thirty.",
    "She wrote a long letter to her grandmother in Spain.",
    "Turn left at the church and follow the river road.",
    "The old clock in the hall stopped working last winter.",
    "Our team won the final match by two goals.",
    "Fresh fish is sold at the harbour every Friday morning.",
    "Do not forget to lock the back door before you leave.",
    "The pilot announced that we would land in twenty minutes.",
    "A small bird built its nest under the kitchen window.",
    "They painted the fence white and planted roses along it.",
    "I would like a cup of tea with milk and no sugar.",
    "The library will be closed on Monday for repairs.",
    "His new bicycle has a red frame and silver wheels.",
    "The storm knocked down several trees near the school.",
    "We watched the sun go down behind the hills.",
    "The meeting was moved to March 3rd at 10:30 am.",
)

#: Mandarin sentences for the cross-language check (similarity and speed only: the bundled
#: recogniser is English-only, so there is no Mandarin WER).
MANDARIN_SENTENCES: tuple[str, ...] = (
    "今天早上的火车又晚点了，我们只好走路去公司。",
    "请把绿色的杯子放在柜子最上面的一层。",
    "下午的风很大，田野里一个人也没有。",
    "我妹妹在车库后面种了西红柿和豆角。",
    "你能告诉我最近的邮局在哪里吗？",
    "我们需要三个面包和十二个鸡蛋。",
)
