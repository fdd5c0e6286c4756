"""Reading a user's situation from their words: general cues, each traceable to what the page says.

The page's rule is "start from the asset you have": existing footage (and the need to relight,
restyle, swap a product, localise, or keep timing and motion) points to Ray 3.2; no source clip (a
prompt, an image, an idea to explore) points to Ray 3; both in sequence when exploring comes first
and transforming after. These cues detect those situations in plain, casual or misspelt wording.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from assistant.text import RAY_3, RAY_32

_FOOTAGE_NOUN = (r"(?:footage|clips?|videos?|takes?|recordings?|rushes|dailies|b-?roll|source|material|"
                 r"shots?|film|movie|ad|commercial|spot|interview|vlog|plates?|scenes?|reel|cut|edit|sequence)")
_HAVE_VERB = r"(?:have|has|had|got|own|possess|'ve got)"
_FILM_VERB = r"(?:filmed|shot|recorded|captured|made|produced|cut|edited|exists?|exist)"
_NEG = (r"(?:no|not|don't|dont|do not|doesn't|does not|didn't|did not|haven't|havent|have not|hasn't|"
        r"has not|hadn't|had not|never|without|lack(?:ing)?|zero|nothing|none|isn't|is not|aren't|are not|"
        r"wasn't|was not|weren't|yet to)")
_FILLER = r"(?:\s+(?:any|a|an|the|existing|source|real|actual|original|raw|even|yet|been|anything|single|our|my))*"

NEGATED_FOOTAGE = [
    re.compile(rf"\b{_NEG}{_FILLER}\s+{_HAVE_VERB}?{_FILLER}\s*{_FOOTAGE_NOUN}\b"),
    re.compile(rf"\b{_NEG}\s+(?:\w+\s+){{0,3}}{_FOOTAGE_NOUN}\b(?!\s+(?:to|of|i|we)\b)"),
    re.compile(rf"\b{_NEG}{_FILLER}\s+(?:been\s+)?{_FILM_VERB}\b"),
    re.compile(rf"\b{_FOOTAGE_NOUN}\s+(?:does not|doesn't|do not|don't|isn't|is not)\s+(?:exist|exists)\b"),
    re.compile(r"\bnothing\s+(?:\w+\s+){0,3}(?:filmed|shot|recorded|captured|exists)\b"),
    re.compile(r"\b(?:from scratch|blank[- ]page|clean slate|empty timeline|pre-?production|before (?:we|i|the)"
               r" (?:shoot|film)|not (?:yet )?(?:been )?(?:filmed|shot)|only (?:have )?(?:an? )?(?:idea|concept|"
               r"prompt|script|sketch|storyboard)|just (?:an? )?(?:idea|concept|prompt|script))\b"),
]
HAS_FOOTAGE = [
    re.compile(rf"\b(?:i|we|i've|we've|you|they|client|team|already)\s+(?:\w+\s+){{0,2}}{_HAVE_VERB}\s+"
               rf"(?:\w+\s+){{0,4}}{_FOOTAGE_NOUN}\b"),
    re.compile(r"\b(?:i|we|they|you|already|was|were|been|is|are|client)\s+(?:already\s+)?"
               r"(?:filmed|shot|recorded|captured|cut|edited)\b"),
    re.compile(rf"\b(?:my|our|their|this|existing|the source|source|original|raw|filmed|recorded|live[- ]action)"
               rf"\s+(?:\w+\s+){{0,2}}{_FOOTAGE_NOUN}\b"),
    re.compile(r"\b(?:footage|source clip|source video|source take|existing clip|existing video|already exists|"
               r"already (?:have|got|filmed|shot|cut|edited|recorded)|already in the can|in the can|the take|"
               r"the performance|the actor|an actor's|the timing|camera path|camera motion|camera move)\b"),
]
# What the page says Ray 3.2 is for: transforming a take that exists.
TRANSFORM = re.compile(
    r"\b(?:re-?light\w*|lighting|light(?:s)? (?:change|changes)|re-?style\w*|restyl\w*|style transfer|"
    r"change (?:the )?(?:look|style|lighting|environment|background|setting|weather|season|product|"
    r"location|time of day)|chang\w* (?:the |its |their |our |my )?(?:look|style|lighting|environment|background|"
    r"setting|weather|season|product|location|time of day|vibe|mood|color|colou?r grade)|keep\w* (?:it|them|that|"
    r"the (?:acting|performance|timing|motion|camera|pacing|framing|blocking|edit))|as (?:filmed|shot|recorded)|"
    r"stay\w* (?:exactly )?(?:as|the same|close)|intact|unchanged|swap\w*|"
    r"replace\w* (?:the )?(?:product|background|bottle|logo|can|package)|"
    r"product swap|locali[sz]\w*|translat\w*|dub\w*|market versions?|(?:other|new|different) markets?|"
    r"regional versions?|new environments?|keep(?:ing)? (?:the )?(?:timing|motion|performance|camera|pacing|"
    r"duration|cut|edit|continuity)|preserv\w*|continuity|keyframes?|adherence|locks?|video[- ]to[- ]video|"
    r"v2v|transform\w*|rescue|reuse|re-?use|repurpos\w*|refine|touch up|fix (?:the )?(?:lighting|look)|"
    r"fits? (?:an|the|my|our) edit|stay close to the original|timing is (?:already )?cut|edit duration)\b")
# What the page says Ray 3 is for: inventing a shot with no source clip.
INVENT = re.compile(
    r"\b(?:ideas?|ideation|concepts?|brainstorm\w*|explor\w*|invent\w*|imagin\w*|prompts?|text[- ]to[- ]video|"
    r"image[- ]to[- ]video|t2v|i2v|still (?:image|photo)|photo|image|picture|reference|storyboard|mood ?board|"
    r"pitch|first drafts?|rough drafts?|drafts?|scene generation|generat\w* (?:a |an |the )?(?:new|original|"
    r"fresh|brand[- ]new)|new shot|original generation|from nothing|blank|open[- ]ended|creative direction|"
    r"direction is (?:still )?open|creative exploration|previs\w*|animatic|mock ?up|sketch|what if|"
    r"visuali[sz]e|dream up|come up with|(?:not|n't|never) (?:yet |even )?(?:settled|decided|sure|know|figured)|"
    r"undecided|still open|no clue|no idea what|generat\w* (?:a |an |the )?(?:look|direction|shot|scene|concept|"
    r"idea|clip|video)s?|prototyp\w*|from (?:a |the )?(?:prompt|text|photo|image|still))\b")
USE_BOTH = re.compile(
    r"\b(?:use both|both models|both of them|both ray|both together|both in sequence|mix both|together|combine\w*|"
    r"combination|in sequence|same (?:workflow|pipeline|project)|in tandem|alongside|hand ?off|chain them|"
    r"one after the other|end[- ]to[- ]end workflow)\b")
SEQUENCE = re.compile(
    r"\b(?:then|after(?:wards| that)?|later|next|once|finally|first|all the way to|pick the (?:best|strongest) take|"
    r"strongest take|from (?:concept|idea|scratch|a prompt|prompt) to)\b")
COMPARE = re.compile(
    r"\b(?:differen\w*|differ|compare\w*|comparison|vs\.?|versus|better|best|worse|stronger|pros and cons|"
    r"trade-?offs?|which (?:\w+ ){0,2}(?:one|model|version|ray)|which of (?:the|them)|or ray|which should|"
    r"which do i|help me (?:choose|pick|decide)|should (?:i|we) (?:use|pick|choose|go with)|"
    r"choose between|pick between|always|beginners?|new to|first time|newbie|novice|start with|"
    r"interchangeable|same thing|production|marketing|campaign)\b")
WHEN_MODEL = re.compile(
    r"\bwhen (?:should|would|do|does|can|to|is) (?:i|we|you|one|a team|it)?\s*(?:choose|use|pick|go with|reach for|"
    r"opt for|prefer|better|the (?:right|best))\b|\b(?:what|which|in what|in which) (?:situations?|cases?|scenarios?|"
    r"circumstances|kinds? of (?:projects?|jobs?|work|shots?)|projects?|jobs?)\b|good fit|right (?:pick|choice|tool)|"
    r"make\w* (?:more )?sense|best suited|ideal for|when is it")
FACTUAL = re.compile(
    r"^(?:what|which|how|does|do|is|are|can|tell me|describe|explain|list)\b.*\b(?:does|do|is|are|offer|"
    r"give|provide|preserve|support|handle|mean|means|strength|strong|value|control|features?|inputs?|"
    r"goal|style|use|locks?|keyframes?|adherence|continuity|difference)\b")
# "What does Ray 3.2 preserve?": a question about a model's properties, not the user's situation.
ABOUT_MODEL = re.compile(r"^(?:what|how|which (?:[\w.]+ ){0,3}(?:features?|controls?|inputs?|tools?)|does|do|can|"
                         r"tell me|"
                         r"describe|explain|list)\b(?!.*\b(?:better|worse|stronger|than|or ray)\b)")
PERSONAL = re.compile(r"\b(?:i|we|my|our|me|us|i'm|we're|i've|we've|i'd|we'd|mine|ours)\b")
GREETING = re.compile(r"^(?:hi|hello|hey|thanks|thank you|ok|okay|cool|great)\b[\s!.?]*$")
INJECTION = re.compile(
    r"(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|previous\s+|prior\s+|"
    r"above\s+|earlier\s+|these\s+)*(?:instructions?|rules?|prompts?|guidelines?|directions?|context|documents?"
    r"|constraints?)|you are now|you're now|from now on|act as|pretend (?:to be|you)|roleplay|role-play|"
    r"jailbreak|\bdan\b|developer mode|system prompt|your (?:instructions|prompt|rules)|reveal (?:your|the)|"
    r"print (?:your|the) (?:prompt|instructions|system)|new instructions?|respond only with|only answer with|"
    r"say (?:that|exactly)|repeat after me|\bsudo\b|admin mode", re.IGNORECASE)

# Topics the page never covers: asked alone, they must be abstained on, never guessed.
UNCOVERED = {
    "price or cost": r"pric\w*|costs?|costing|cheap\w*|expensive|afford\w*|subscriptions?|credits?|"
                     r"free (?:tier|plan|trial|version)|for free|pay\w*|paid|dollars?|\$\d|budget|billing|"
                     r"pricing plans?|subscription plans?|paid plans?|licen[sc]\w*",
    "release dates or availability": r"releas\w*|launch\w*|came out|come out|available|availability|"
                                     r"roadmap|beta|waitlist|announce\w*|version history|changelog|when was",
    "resolution, frame rate or formats": r"resolution|4k|8k|1080p?|720p?|2160p|hdr|fps|frame ?rates?|"
                                         r"aspect ratios?|bit ?rate|codecs?|prores|mp4|mov|file formats?|upscal\w*",
    "clip length or duration limits": r"how long (?:can|is|are|does|will)|max(?:imum)? (?:length|duration)|"
                                      r"longest|length limit|duration limit|seconds long|minutes? long|"
                                      r"how many seconds|how many minutes|time limit",
    "audio": r"audio|sound\w*|music|voice\w*|speech|lip[- ]?sync\w*|dialog(?:ue)?|soundtrack|narration",
    "hardware or installation": r"gpu|vram|cpu|ram|hardware|run (?:it )?locally|on-?prem\w*|install\w*|"
                                r"system requirements|mac|windows|linux|ios|android|mobile app|download",
    "APIs and integrations": r"\bapi\b|sdk|integrat\w*|plugin|plug-in|premiere|after effects|davinci|"
                             r"final cut|webhook|rate limits?",
    "other vendors' models": r"sora|runway|gen-?[234]|veo|kling|pika|midjourney|stable (?:video )?diffusion|"
                             r"hailuo|minimax|wan ?2|seedance|dream machine|openai|google|adobe firefly|"
                             r"ray ?[124]\b|ray ?[3]\.[013-9]|photon",
    "rendering speed or generation time": r"render(?:ing)? (?:time|speed)|generation (?:time|speed)|"
                                          r"how fast|how quickly|latency|queue|wait time|processing time",
    "legal, safety or data policy": r"copyright\w*|commercial (?:use|rights)|rights|watermark\w*|privacy|"
                                    r"training data|trained on|gdpr|terms of service|nsfw|safety|who owns",
    "company facts": r"ceo|founder\w*|funding|headquarter\w*|employees|valuation|investors?|stock",
    "supported languages": r"which languages|what languages|how many languages|languages (?:are )?supported",
    "image or video quality": r"quality|realis\w*|photorealis\w*|sharp\w*|artifacts?|glitch\w*|flicker\w*|"
                              r"hallucinat\w*|accura\w*",
}
_UNCOVERED_RE = {topic: re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE) for topic, pattern in UNCOVERED.items()}
DOMAIN = re.compile(
    r"\b(?:ray|luma|video\w*|footage|clips?|shots?|film\w*|scenes?|models?|camera|edit\w*|takes?|generat\w*|"
    r"render\w*|movie|ads?|commercial|campaign|product|marketing|frames?|motion|timing|prompts?|images?|"
    r"relight\w*|restyl\w*|locali[sz]\w*|keyframes?|continuity|production|creative|concept|storyboard|"
    r"shoot|director|vfx|post|b-?roll|performance|actor|animation|visual\w*)\b")

_CHAT_WORDS = frozenset("which better best ones what should tbh honestly like just okay yeah please thanks "
                        "really anyway think choose pick between them these those that this".split())

# Vocabulary for fixing typos in cue words (a one- or two-letter slip in a long word).
_CUE_WORDS = sorted(set(
    "footage clip clips video videos recording filmed recorded captured already existing source take "
    "relight relighting lighting restyle restyling localize localise localization localisation translate "
    "transform transformation swap product environment background performance timing motion camera "
    "continuity keyframes adherence locks preserve concept concepts brainstorm brainstorming explore "
    "exploring exploration invent inventing imagine prompt storyboard draft generate generation scratch "
    "nothing haven't don't doesn't which model better difference between together sequence beginners "
    "marketing production always control choose should what when shot scene idea ideas footages "
    "original reference image photo".split()))


def fix_typos(text: str) -> str:
    out = []
    for word in re.findall(r"[\w'.-]+|[^\w\s]+|\s+", text):
        lowered = word.lower()
        if len(lowered) >= 5 and lowered.isalpha() and lowered not in _CUE_WORDS:
            close = difflib.get_close_matches(lowered, _CUE_WORDS, n=1, cutoff=0.84)
            out.append(close[0] if close else word)
        else:
            out.append(word)
    return "".join(out)


def normalise_question(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s+", " ", text).strip()
    text = fix_typos(text)
    # "ray3.2", "ray 32", "rays 3.2" -> "Ray 3.2"
    text = RAY_32.sub("Ray 3.2", text)
    return RAY_3.sub("Ray 3", text)


def strip_injections(text: str) -> tuple[str, bool]:
    """Drop the sentences that try to give instructions; they are data to us, never orders."""
    parts = re.split(r"(?<=[.!?\n])\s+|\s+(?=(?:ignore|disregard|forget|you are now|from now on)\b)", text,
                     flags=re.IGNORECASE)
    kept = [p for p in parts if p and not INJECTION.search(p)]
    return " ".join(kept).strip(), len(kept) != len([p for p in parts if p])


@dataclass
class Signals:
    footage: int = 0  # the user has a source take
    no_footage: int = 0  # the user says there is none
    transform: int = 0
    invent: int = 0
    sequence: int = 0  # ordering words: "then", "later", "once"
    use_both: int = 0  # "use both", "together", "same workflow"
    compare: int = 0
    when_model: str = ""  # "when should I choose Ray 3.2?" -> "ray-3.2"
    factual: bool = False
    about_model: bool = False  # asks what a named model is or does, with no situation of the user's
    models: set[str] = field(default_factory=set)
    uncovered: list[str] = field(default_factory=list)
    domain: bool = False
    greeting: bool = False

    @property
    def situation(self) -> bool:
        return bool(self.footage or self.no_footage or self.transform or self.invent)


def read_signals(text: str) -> Signals:
    low = normalise_question(text).lower()
    s = Signals()
    # Clause by clause: "nothing has been filmed yet for our ad" says there is no footage, even though
    # "our ad" alone would read as footage; a negated clause's footage words do not count.
    for clause in re.split(r"[,;.!?]|\bbut\b|\bhowever\b|\bwhile\b", low):
        negated = sum(len(p.findall(clause)) for p in NEGATED_FOOTAGE)
        s.no_footage += negated
        if not negated:
            s.footage += sum(len(p.findall(clause)) for p in HAS_FOOTAGE)
    s.transform = len(TRANSFORM.findall(low))
    s.invent = len(INVENT.findall(low))
    s.sequence = len(SEQUENCE.findall(low))
    s.use_both = len(USE_BOTH.findall(low))
    s.compare = len(COMPARE.findall(low))
    s.models = {m for m, rx in (("ray-3.2", RAY_32), ("ray-3", RAY_3)) if rx.search(low)}
    if WHEN_MODEL.search(low) and s.models and not s.use_both:
        first = min((rx.search(low).start(), m) for m, rx in (("ray-3.2", RAY_32), ("ray-3", RAY_3))  # type: ignore[union-attr]
                    if m in s.models)
        s.when_model = first[1]  # "does Ray 3 make more sense than Ray 3.2?" asks about Ray 3
    s.factual = bool(FACTUAL.search(low))
    s.about_model = len(s.models) == 1 and bool(ABOUT_MODEL.search(low)) and not PERSONAL.search(low) \
        and not s.when_model
    s.uncovered = [topic for topic, rx in _UNCOVERED_RE.items() if rx.search(low)]
    s.domain = bool(DOMAIN.search(low)) or bool(s.models) or bool(s.use_both) or (
        bool(COMPARE.search(low)) and len(set(re.findall(r"[a-z]{4,}", low)) - _CHAT_WORDS) <= 2)
    s.greeting = bool(GREETING.match(low))
    return s
