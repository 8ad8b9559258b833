"""Re-marking after reclassification (Arts. 4, 6) and visits (Art. 8): pure decisions."""

from __future__ import annotations

from datetime import timedelta

from gsomia.agreements import Event, EventKind
from gsomia.catalog import builtin_registry
from gsomia.catalog import with_events as what_if
from gsomia.policy import Code
from gsomia.policy.remark import REMARK_ALLOWED, remark
from gsomia.policy.visit import VISIT_ALLOWED, visit
from tests.conftest import at

NOW = at("2026-11-23T12:00:00+09:00")
GSOMIA = "kor-jpn-gsomia-2016"


def test_the_holder_re_marks_at_its_equivalent_even_after_termination() -> None:
    reg = builtin_registry()
    down = remark(reg, GSOMIA, "KOR", "군사III급비밀", "JPN", NOW)
    assert down.allowed
    assert down.codes == (REMARK_ALLOWED,)
    assert [m.level for m in down.markings] == ["군사III급비밀", "秘"]
    alias = remark(reg, GSOMIA, "KOR", "군사2급비밀", "JPN", NOW)  # aliases name the native level
    assert [m.level for m in alias.markings] == ["군사II급비밀", "極秘"]
    ended = what_if(reg, GSOMIA, [Event(EventKind.TERMINATED, NOW - timedelta(days=1))])
    assert remark(ended, GSOMIA, "KOR", "군사III급비밀", "JPN", NOW).allowed  # Art. 21
    via_hub = remark(reg, "tisa-2014", "KOR", "군사III급비밀", "JPN", NOW)
    assert via_hub.markings[-1].level == "秘"


def test_re_marking_denies_what_it_cannot_place() -> None:
    reg = builtin_registry()
    assert remark(reg, GSOMIA, "KOR", "군사I급비밀", "JPN", NOW).codes == (Code.LEVEL_NOT_COVERED,)
    assert remark(reg, GSOMIA, "KOR", "극비", "JPN", NOW).codes == (Code.UNKNOWN_LEVEL,)
    assert remark(reg, GSOMIA, "KOR", "군사III급비밀", "USA", NOW).codes == (Code.NO_AGREEMENT,)
    assert remark(reg, "no-such", "KOR", "군사III급비밀", "JPN", NOW).codes == (Code.NO_AGREEMENT,)


def test_a_visit_needs_an_agreement_in_force_and_a_clearance_for_the_level() -> None:
    reg = builtin_registry()
    assert visit(reg, "KOR", "JPN", "군사II급비밀", NOW).codes == (VISIT_ALLOWED,)
    approved = visit(reg, "KOR", "JPN", "군사II급비밀", NOW, "特定秘密")
    assert approved.allowed  # 特定秘密 is SECRET under Art. 4: 군사II급비밀 for KOR
    assert [m.level for m in approved.markings] == ["特定秘密", "군사II급비밀"]
    assert visit(reg, "KOR", "JPN", "군사III급비밀", NOW, "極秘").codes == (
        Code.CLEARANCE_INSUFFICIENT,
    )
    assert visit(reg, "KOR", "JPN", "군사I급비밀", NOW, "機密").codes == (Code.LEVEL_NOT_COVERED,)
    assert visit(reg, "KOR", "JPN", "군사II급비밀", NOW, "超秘").codes == (Code.UNKNOWN_LEVEL,)
    before = at("2015-06-01T00:00:00+09:00")
    assert visit(reg, "KOR", "JPN", "군사II급비밀", before).codes == (Code.AGREEMENT_NOT_IN_FORCE,)
    assert visit(reg, "KOR", "XXX", "군사II급비밀", NOW).codes == (Code.UNKNOWN_PARTY,)
    assert visit(reg, "KOR", "KOR", "군사II급비밀", NOW).codes == (Code.SAME_PARTY,)
    assert visit(reg, "KOR", "JPN", "1급", NOW).codes == (Code.UNKNOWN_LEVEL,)
