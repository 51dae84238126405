"""Word lists of the fact rules: numbers, hedges, events, reporting verbs, titles.

spaCy's model has no notion of hedges, reporting verbs or event classes, so these small
closed lists are the hand-written part of the extractor.
"""

from __future__ import annotations

import re
import unicodedata


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Small closed word lists: spaCy's model has no notion of hedges, reporting verbs or event
# classes, so these are the hand-written part of the extractor.

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
_SCALES = {
    "hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
    "trillion": 1_000_000_000_000, "mn": 1_000_000, "m": 1_000_000, "bn": 1_000_000_000,
    "b": 1_000_000_000, "tn": 1_000_000_000_000, "k": 1_000, "mln": 1_000_000,
    "bln": 1_000_000_000,
}  # fmt: skip
# "dozens of", "hundreds of": vague plurals, read as the interval they imply.
_VAGUE = {
    "dozens": (24.0, 99.0), "scores": (40.0, 99.0), "hundreds": (200.0, 999.0),
    "thousands": (2_000.0, 9_999.0), "millions": (2e6, 999e6), "billions": (2e9, 999e9),
}  # fmt: skip
_FRACTIONS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4,
    "fourth": 4, "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "tenth": 10, "tenths": 10,
}  # fmt: skip
_NUMERIC_RE = re.compile(
    r"^(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(bn|mn|tn|mln|bln|m|b|k)?$", re.IGNORECASE
)
# Nouns that make the number after them a label, not a count: "season 4", "Phase One".
_LABEL_NOUNS = _wordset(
    "season episode phase chapter part round game level version series volume vol page room "
    "article section channel terminal gate route flight category grade stage act suite exit "
    "highway interstate tier number no. no "
    "# nos update model generation gen ch. ch chapter"
)
# Listicle heads ("3 reasons why ...", "5 things to watch"): counts of the article, not news.
_LISTICLE_NOUNS = _wordset(
    "reason thing way tip fact question takeaway lesson sign trick secret step moment mistake "
    "myth idea rule photo picture quote"
)
_YEAR_RE = re.compile(r"^(1[89]\d\d|20\d\d)$")
_CURRENCY_SYMBOLS = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "pound": "GBP",
    "pounds": "GBP", "yen": "JPY", "yuan": "CNY", "rupees": "INR", "roubles": "RUB",
    "rubles": "RUB", "hryvnias": "UAH",
}  # fmt: skip
_TIME_NOUNS = {
    "second", "minute", "hour", "day", "night", "week", "month", "year", "decade", "century",
    "weekend", "season", "mth", "yr", "hr", "wk", "min", "sec",
}  # fmt: skip
_MEASURE_NOUNS = {
    "km", "kilometre", "kilometer", "mile", "metre", "meter", "foot", "feet", "inch", "kg",
    "kilogram", "tonne", "ton", "pound", "barrel", "litre", "liter", "gallon", "acre",
    "hectare", "square", "degree", "point", "cent", "lb", "mph",
}  # fmt: skip

# Qualifier -> interval kind. Single words that are also prepositions ("over", "about") only
# count when the parser attaches them to the number (quantmod/advmod), not as a preposition.
_QUALIFIERS: dict[str, str] = {
    "approximately": "approx", "about": "approx", "around": "approx", "roughly": "approx",
    "some": "approx", "an estimated": "approx", "estimated": "approx", "circa": "approx",
    "or so": "approx", "nearly": "nearly", "almost": "nearly", "close to": "nearly",
    "just under": "nearly", "at least": "at_least", "no fewer than": "at_least",
    "no less than": "at_least", "a minimum of": "at_least", "or more": "at_least",
    "+": "at_least", "over": "over", "more than": "over", "above": "over",
    "upwards of": "over", "in excess of": "over", "exceeding": "over", "just over": "over",
    "up to": "up_to", "at most": "up_to", "as many as": "up_to", "no more than": "up_to",
    "a maximum of": "up_to", "less than": "under", "fewer than": "under", "under": "under",
    "below": "under", "exactly": "exact", "between": "range",
}  # fmt: skip
_PREP_QUALIFIERS = {"over", "about", "around", "above", "under", "below", "some"}
_APPROX = 0.15  # "about 300": +-15%, the loose end of how newsrooms round
_EXACT = 0.01  # bare numbers: +-1%, room for "2.7 thousand" vs "2,700"

# Event lemma -> class. Classes make "injured"/"wounded" and "deaths"/"killed" the same fact.
_EVENTS: dict[str, str] = {}
for _cls, _words in {
    "killed": "kill die dead death slay perish execute fatality murder massacre",
    "wounded": "wound injure hurt injury",
    "captured": "capture prisoner captive pow",
    "deployed": "deploy send dispatch station fight serve deployment mobilize mobilise amass "
    "remain stay",
    "missing": "miss missing disappear",
    "displaced": "displace flee evacuate evacuation",
    "arrested": "arrest detain detention",
    "released": "release free swap",
    "casualties": "casualty",
}.items():
    for _w in _words.split():
        _EVENTS[_w] = _cls
# Nouns that are events in themselves: "300 deaths" counts people killed.
_EVENT_NOUNS = {"death": "people", "fatality": "people", "injury": "people", "casualty": "people"}
_NOMINAL_EVENTS = {
    "capture", "death", "killing", "deployment", "release", "arrest", "evacuation", "injury",
    "loss", "swap", "exchange", "transfer", "dispatch",
}  # fmt: skip
# Verbs that only frame a count ("are estimated to be fighting"): look through to the xcomp.
_FRAMING = {
    "estimate", "report", "believe", "say", "think", "expect", "know", "suppose", "seem",
    "appear", "fear", "presume", "understand", "claim", "confirm", "allege", "reckon", "find",
}  # fmt: skip
_HEAD_CLASSES = {
    "troop": "soldier", "soldier": "soldier", "serviceman": "soldier", "fighter": "soldier",
    "personnel": "soldier", "combatant": "soldier", "servicemember": "soldier",
    "people": "person", "person": "person", "individual": "person",
}  # fmt: skip
_SKIP_MODIFIERS = {
    "more", "other", "another", "additional", "further", "many", "several", "few", "some",
    "most", "all", "extra", "total", "estimated", "least", "only", "just", "new",
}  # fmt: skip

# Reporting verbs. Strong cues (verbs of saying, writing, asking, urging, blaming, praising)
# attribute in any construction; weak ones (thinking, finding, showing) only when they take a
# clause, so "the study found a bug" is not an attribution.
_STRONG_CUES = _wordset(
    "say tell report state announce confirm estimate predict claim deny attribute reveal "
    "disclose admit acknowledge allege warn declare insist assert testify tweet write add note "
    "explain argue forecast accuse stress emphasise emphasize conclude quote brief inform cite "
    "post ask urge demand blame defend question complain call describe mention suggest "
    "respond reply recommend vow pledge promise criticize criticise praise "
    "denounce condemn blast slam mock reiterate concede contend counter retort joke "
    "boast lament characterize characterise label charge caution assure observe remark "
    "comment recall discuss reference echo agree disagree insinuate hint "
    "decry rebuke plead implore wonder speculate publish detail document "
    "point decide refer speak decline promote encourage seek "
    "support endorse oppose reject welcome favor favour applaud"
)
# Strong cues that attribute only with a complement ("declined to comment", "decided to
# run", "spoke about", "pointed out that"), not alone ("the rate would decline", "spoke in
# a cottage"): the prepositions or particles that make them say something, or a clause.
_COMPLEMENT_CUES: dict[str, tuple[str, ...]] = {
    "decline": (), "decide": (), "seek": (), "speak": ("about", "of", "out", "on", "against"),
    "point": ("out", "to"),
}  # fmt: skip
# Intentions, in running text only: "Clinton wants to sign up 5 million people", "He proposes
# doing away with the mandate" -- the subject's stated aim, what PolNeAR's attribution counts
# too. They need an infinitive or gerund to attribute ("wants a recount" is a demand for a
# thing); headlines use them for plans of firms ("Google wants to"). "try" and "need" were
# right in 6 of 20 on PolNeAR's development half ("as she tries to draw a contrast"): out.
_INTENTION_CUES = _wordset("want plan intend aim wish propose offer")
_WEAK_CUES = _wordset(
    "believe think show find indicate learn expect fear suspect assess calculate "
    "project worry hope doubt feel assume realize realise know rule consider"
)
# Stance adjectives: "Graham has been critical of Trump", "Democrats are afraid that ...":
# the subject holds a view, an attribution in the wide sense (thoughts and feelings count).
_STANCE_ADJECTIVES = _wordset(
    "critical concerned worried afraid confident sure certain skeptical sceptical optimistic "
    "pessimistic convinced hopeful fearful angry upset supportive opposed eager reluctant "
    "adamant doubtful proud pleased disappointed furious outraged grateful complimentary "
    "dismissive defensive circumspect passionate unhappy frustrated wary insistent"
)
# Stance nouns: "Kaine is a staunch opponent of the death penalty".
_STANCE_NOUNS = _wordset(
    "critic opponent supporter advocate proponent champion skeptic sceptic defender backer "
    "foe detractor admirer fan"
)
# Nouns of saying: "Trump's claim that ...", "his statement": the possessor is the source.
_NOUN_CUES = _wordset(
    "claim statement comment remark tweet assertion argument accusation allegation warning "
    "promise pledge suggestion proposal criticism question answer response reply testimony "
    "announcement denial admission explanation insistence speech words view views message "
    "prediction assessment estimate contention complaint charge remarks comments tweets"
)
# Sentence labels that are headline furniture, not speakers ("The Latest: ...").
_LABEL_FURNITURE = _wordset(
    "latest update updated breaking watch exclusive opinion analysis editorial video photos "
    "photo live listen read factbox timeline explainer correction review recap preview news "
    "wrap roundup story program op ed videos slideshow gallery pictures premiere trailer "
    "finale episode season quiz spoilers spoiler brief briefs"
)
# A newspaper's sections: an all-caps one before a colon is a label ("ENTERTAINMENT: ..."),
# not a speaker the way "PENCE:" is.
_SECTION_NAMES = _wordset(
    "entertainment sports sport business politics health tech technology science world money "
    "markets market lifestyle travel culture style music movies film television tv media "
    "economy finance national local weather crime education"
)
# Words of a show's or a work's title: a source that holds one is a title the parser misread
# ("The Bachelor Season 18, Episode 10: The Women Tell All").
_SHOW_WORDS = _wordset("season episode finale premiere recap review trailer")
# Cues that in a headline mostly mean something else: a product recall, a firm that
# considers a move, a star who speaks at an event or posts a video, a firm that
# adds jobs, charges that are a prosecutor's.
_HEADLINE_NON_CUES = _wordset(
    "recall consider speak post add agree disagree decline decide point promote encourage "
    "publish detail document reference echo observe note label charge project"
)
# Weak cues whose -s form ends a headline as a plural noun ("China, Ukraine fears").
_NOUN_LIKE_CUES = _wordset("fear hope worry doubt feel")
# Nouns that are sources when they open a "Poll: ..." label (documents, groups, roles).
_DOCUMENT_NOUNS = _wordset(
    "poll survey report study sources source officials official police witnesses experts "
    "analysts researchers ceo chairman chief spokesman spokeswoman spokesperson governor "
    "minister president lawyer lawyers memo filing document documents"
)
# Who can be a headline's source when its subject is a common noun: people by role, groups,
# institutions and documents ("SoftBank CEO says", "Study shows"), not things ("New SDK
# Shows", "trailer promises", "reality show").
_SPEAKER_NOUNS = _wordset(
    "official spokesman spokeswoman spokesperson ceo chief executive chairman chairwoman "
    "president minister governor senator lawmaker legislator leader mayor expert analyst "
    "economist strategist researcher scientist doctor lawyer attorney prosecutor judge "
    "police investigator witness source insider host star actor actress singer rapper fan "
    "critic designer director producer founder creator hacker activist protester boss "
    "manager coach player author writer mother father mom dad wife husband son daughter "
    "family friend parent child kid man woman people user customer consumer investor trader "
    "worker employee resident voter citizen victim survivor owner buyer seller maker "
    "developer union group company firm bank government administration agency ministry "
    "department court board committee council party campaign team regulator watchdog "
    "authority lender insurer retailer carrier airline automaker manufacturer producer "
    "exporter importer network studio label publisher newspaper paper magazine journal "
    "station channel outlet militia army force rebel commander study report survey poll "
    "research data figure analysis document memo filing letter lawsuit suit complaint "
    "statement review audit probe inquiry forecast estimate"
)
# Things a title-case headline makes look like names, which promise or show but say nothing
# ("Speed Reading App Promises", "New Trailer Reveals").
_THING_NOUNS = _wordset(
    "app apps device gadget phone smartphone tablet product service game show series film "
    "movie trailer teaser clip episode song album video book software update feature tool "
    "site website platform sdk"
)
# Pronouns of a speaker talking about themselves, and of someone talked about.
_FIRST_PERSON = _wordset("i me my we us our")
_THIRD_PERSON = _wordset("he she him her his")
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "who", "which", "that", "this"}
_TITLES = {
    "mr", "mrs", "ms", "dr", "sir", "dame", "president", "prime", "minister", "sen", "senator",
    "rep", "gov", "governor", "gen", "general", "col", "lt", "king", "queen", "prince",
    "pope", "chancellor", "secretary", "judge", "justice", "mayor", "lord", "lady", "prof",
}  # fmt: skip
_ENTITY_LABELS = {"PERSON", "ORG", "GPE", "LOC", "FAC"}
_PLACE_HEADS = {"region", "oblast", "province", "district", "city", "county", "territory"}
_MISREAD_PLACES = {"PRODUCT", "PERSON", "ORG", "FAC", "NORP", "WORK_OF_ART", "LOC"}
# Function words of common non-English news languages, to keep the English model off them.
_FOREIGN_WORDS = _wordset(
    "le la les des du et est une un que qui dans pour pas sur au aux ont été il elle "
    "der die das und ist nicht ein eine mit den dem von zu sich auf für wird "
    "el los las y es del por con para una su se lo como más pero "
    "il di che della per non sono gli nel alla anche "
    "o os da do em um uma não são"
)
_ENGLISH_WORDS = _wordset(
    "the of and to in is was for that on with as by at from it be are has have had were "
    "said says will an this which not but or after its their they he she his her who been "
    "would than more over into about new"
)


# --------------------------------------------------------------------------- intervals


def _fold(text: str) -> str:
    """Case-, accent- and apostrophe-insensitive form, for comparing names and phrases."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text).strip().casefold()
