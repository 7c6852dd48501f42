"""Name tokens that are also everyday Danish or English words ("Bo" = live, "Per" = per, "Hans" = his,
"Mark" = field, "Will", "Rose", "Lykke" = luck, "Skov" = forest …).

A known name listed here is redacted only when the text makes it look like a name (see
:mod:`pipeline.privacy.names`). The list is used only while the name index is built; it is not needed at
redaction time, because the "ambiguous" flag is stored with each hash. Extend it per deployment with
``NameIndex.from_names(..., extra_ambiguous=...)``.
"""

from __future__ import annotations

_DANISH = """
aksel alle alma ask august bang bent bjerg bjørn bo borg bro brink brun dal dam eg edel else engel falk
fisker foged frost glad gry grøn hald hans have holm hvid høj iris kaj karl kirk kjær klit kok krog lang
lange lind line liv lone lund lyng lykke maj mark mose nord per ravn rosa rød sand skov skytte smed sol
sommer sort sten stig storm strand svane syd tage toft tom tone tue vang vest vinter viola øst ørn
bager bonde ben dan han kim mai sejr siv gade
"""

_ENGLISH = """
amber art ash baker bell best bill bird black bob brown bud carter case cash chance chase chip cook crystal
daisy dawn day dean destiny dick don drew east eve faith field ford fox frank gene ginger good grace gray
green grey guy hall heather hill holly honey hope hunt hunter ivy jack jade joy june king lamb lance lane
lily little long love major mason may miles mercy nick north olive page pat patience pearl peg penny porter
price rain ray rich river rob rod rose ruby sage sandy sky south star stone summer sunny sue turner violet
walker ward west white will winter wolf wood young april kit kent curt max norm drake reed
"""

COMMON_WORD_NAMES: frozenset[str] = frozenset((_DANISH + _ENGLISH).split())
