"""The settlement engine: one visit, one rule version, every figure explained.

Pure functions: no Qt, no I/O, no clock.  :func:`settle` takes a parsed case and
the :class:`RuleVersion` in force on its date and returns a :class:`Settlement`
whose explanation has one line per step, in Chinese, each citing its article.

The steps, in order:
1. split each item into fully self-paid (丙类, above the price cap), self-pay first
   (乙类 x selfpay_ratio, rounded per item at step ``item_selfpay``) and in scope;
2. decide each item's route: a registered programme (两病), ordinary pooling, or
   none (facility not in pooling, member in hospital, not the chosen institution);
3. ordinary pooling: deductible, ratio, annual cap; fund rounded at step ``fund``;
4. programmes: no deductible, their own ratio and cap;
5. the member pays the rest.

The ratio's table lookup is :mod:`.fund_share`; a figure left to yearly
publication is taken from the case by :mod:`.published`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..domain.case import Case, Item, Usage
from ..domain.errors import InputError, RulesError
from ..domain.frozen import quick_init
from ..domain.money import STEP_CAP, STEP_FUND, STEP_ITEM_SELFPAY, ZERO, fmt, percent, round_fen
from ..domain.settlement import ItemSplit, Settlement, YearUsage, new_split
from ..domain.vocabulary import FACILITY_KIND_NAMES, PROGRAMME_NAMES, PROGRAMMES, SCHEME_NAMES, STATUS_NAMES
from .fund_share import fund_ratio
from .lines import Lines
from .published import PublishedFigures
from .rulebook import Published, RuleVersion

ORDINARY = "ordinary"
NONE = "none"
PROGRAMME_ROUTES = {name: f"programme:{name}" for name in PROGRAMMES}  # the route of a programme's items


def settle(case: Case, rules: RuleVersion, *, explain: bool = True) -> Settlement:
    """Settle one visit under ``rules`` (which must be the version in force on ``case.date``).

    With ``explain=False`` (the hub: it stores figures and shows none) no line of the explanation is
    written; every figure is the same.
    """
    if rules.region != case.region or rules.date != case.date:
        raise ValueError("rule version does not match the case's region and date")
    version_line, citations, warnings = _per_version(rules)
    lines = Lines(explain)
    if lines.on:
        lines.append(version_line)
    figures = PublishedFigures(case, rules, lines)

    # Steps 1 and 2: each item's split and route.
    blocked = _pooling_blocked(case, rules)
    registered = _registered(case, rules) if blocked is None else frozenset()  # their cap is the year's
    programmes = _taking(case, rules, registered)
    ordinary_open = blocked is None and case.facility.kind in rules["pooling_facility_kinds"].value
    splits, total, fully, first, by_route = _split_items(case.items, rules, programmes, ordinary_open)
    in_scope = total - fully - first  # each item's in-scope part is its amount less the other two
    # an item not taken by a programme goes the plain way: ordinary pooling where it is open (else none)
    ordinary_base = in_scope - sum(by_route.values(), ZERO) if ordinary_open else ZERO
    if lines.on:
        lines.append(
            f"费用分类：医疗费总额 {fmt(total)}，全自费 {fmt(fully)}（丙类及超限价部分），"
            f"先行自付 {fmt(first)}（乙类按比例），符合政策范围 {fmt(in_scope)}（{rules['scope'].citation}）"
        )
    if lines.on and registered != programmes:
        lines += _undiagnosed_lines(case, rules, registered - programmes)
    if blocked:
        lines.append(blocked)
    elif not ordinary_open:
        kinds = rules["pooling_facility_kinds"]
        if lines.on:
            lines.append(
                f"{FACILITY_KIND_NAMES[case.facility.kind]}未纳入本地区普通门诊统筹，"
                f"普通门诊统筹基金支付 0.00（{kinds.citation}）"
            )

    # Steps 3 to 5: the fund, ordinary and by programme; the member pays the rest.
    ordinary = _ordinary(case, rules, figures, ordinary_base, lines, pooling=ordinary_open)
    by_programme = _programme_pay(case, rules, by_route, registered, lines)
    fund = ordinary.fund + sum(by_programme.values(), ZERO)
    if lines.on:
        lines.append(f"个人负担：{fmt(total)} − 统筹基金 {fmt(fund)} = {fmt(total - fund)}")

    usage_after = _usage_after(case.usage, ordinary, by_programme)
    # Positional, in the order of Settlement's fields (named at the right): with keywords, the call took twice as
    # long (1.2 against 0.6 µs), a twentieth of a quote.
    return Settlement(
        case.region,  # region
        rules.day,  # date (the case's: checked above)
        rules.label,  # rule_version
        citations,  # documents
        total,  # total
        fully,  # fully_self_paid
        first,  # self_pay_first
        in_scope,  # in_scope
        ordinary.deductible,  # deductible_this_visit
        ordinary.fund,  # fund_ordinary
        ordinary.ratio,  # fund_ratio
        by_programme,  # fund_by_programme
        ordinary.cap,  # annual_cap
        None if ordinary.cap is None else _left(ordinary.cap, usage_after.pool_paid),  # cap_left_after
        usage_after,  # usage_after
        splits,  # items
        tuple(lines),  # explanation
        warnings,  # warnings
    )


def _left(cap: Decimal, used: Decimal) -> Decimal:
    """What is left of a cap: never below zero."""
    left = cap - used
    return left if left > ZERO else ZERO


_STATUS_WORDS = {"draft": "征求意见稿", "framework": "框架性文件（具体数值由经办机构公布）", "in_force": "正式文件"}


def _per_version(rules: RuleVersion) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What every settlement under these rules says alike, worked out once per rule version: the explanation's
    first line (the version and its documents), how the settlement names the documents, and one warning per
    document not in force (its figures are the office's to confirm)."""
    known = rules.memo.get("per_version")
    if known is None:
        citations = tuple(d.cite_as for d in rules.documents)
        known = rules.memo["per_version"] = (
            f"规则版本：{rules.region_name} {rules.label}（{'；'.join(citations)}）",
            citations,
            tuple(
                f"{d.cite_as} 为{_STATUS_WORDS[d.status]}，结算结果以医保经办机构核定为准"
                for d in rules.documents
                if d.status != "in_force"
            ),
        )
    return known


# --------------------------------------------------------------------------- items


def _split_items(
    items: Iterable[Item], rules: RuleVersion, programmes: frozenset[str], ordinary_open: bool
) -> tuple[tuple[ItemSplit, ...], Decimal, Decimal, Decimal, dict[str, Decimal]]:
    """Each item's split (fully self-paid: out of scope, or above its price cap; paid first: 乙类 × ratio; in
    scope) and route (its programme when the visit takes it; else ordinary pooling where it is open, or none).

    Returns the splits and the sums the steps after need: the total, fully self-paid, paid first, and the in-scope
    amount of each programme's route.  This loop is most of a quote's work: each item's arithmetic is done once,
    and a part is added to its sum only where the item can have one.  What is in scope is what is left of the
    total, and what of it goes the plain way is what no programme took (see :func:`settle`).
    """
    scope = rules["scope"].value
    out_of_scope, paid_first = scope["out_of_scope"], scope["selfpay_first"]
    plain = ORDINARY if ordinary_open else NONE  # the route of an item outside every programme
    routes = {p: PROGRAMME_ROUTES[p] for p in programmes}
    splits = []
    add = splits.append
    total = fully = first = ZERO
    by_programme: dict[str, Decimal] = {}  # in scope, by programme route
    for item in items:
        amount = item.amount
        category = item.category
        total += amount
        if category in out_of_scope:
            fully += amount
            add(
                new_split(
                    (item.code, item.name, category, amount, amount, ZERO, ZERO, NONE, item.quantity, item.unit_price)
                )
            )
            continue
        above_cap = own = ZERO
        base = in_scope = amount
        if item.price_cap is not None:
            over = amount - item.price_cap * item.quantity
            if over > ZERO:
                above_cap, base = over, amount - over
                in_scope = base
                fully += over
        if category in paid_first:
            own = round_fen(base * item.selfpay_ratio, STEP_ITEM_SELFPAY)
            first += own
            in_scope = base - own
        route = plain if item.programme is None else routes.get(item.programme, plain)
        if route is not plain:
            by_programme[route] = by_programme.get(route, ZERO) + in_scope
        add(
            new_split(
                (
                    item.code,
                    item.name,
                    category,
                    amount,
                    above_cap,
                    own,
                    in_scope,
                    route,
                    item.quantity,
                    item.unit_price,
                )
            )
        )
    return tuple(splits), total, fully, first, by_programme


def _registered(case: Case, rules: RuleVersion) -> frozenset[str]:
    """The member's registered programmes that apply at this facility (their caps combine, as registered)."""
    kinds = rules.get("programme_facility_kinds")
    if kinds is None or case.facility.kind not in kinds.value:
        return frozenset()
    return case.member.programmes


def _taking(case: Case, rules: RuleVersion, registered: frozenset[str]) -> frozenset[str]:
    """The registered programmes whose items take the programme on this visit: each whose diagnosis the visit
    has, where the rules ask for one (a case that gives no diagnoses is not asked)."""
    needed = rules.get("programme_diagnoses")
    if not registered or needed is None or case.diagnoses is None:
        return registered
    wanted = needed.value
    return frozenset(
        p for p in registered if p not in wanted or any(code[:3].upper() in wanted[p] for code in case.diagnoses)
    )


def _undiagnosed_lines(case: Case, rules: RuleVersion, undiagnosed: frozenset[str]) -> list[str]:
    """Why a registered 两病 member's programme items went the ordinary way: no matching diagnosis on this visit."""
    needed = rules.get("programme_diagnoses")
    lines = []
    for programme in sorted(undiagnosed):
        names = "、".join(item.name for item in case.items if item.programme == programme)
        if names:
            ranges = _ranges(needed.value[programme])
            lines.append(
                f"{names} 属{PROGRAMME_NAMES[programme]}用药，但本次就诊没有{PROGRAMME_NAMES[programme]}诊断"
                f"（{ranges}），不享受“两病”用药保障，按普通门诊结算（{needed.citation}）"
            )
    return lines


def _ranges(categories: frozenset[str]) -> str:
    """{I10, …, I15} -> "I10–I15"."""
    ordered = sorted(categories)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]}–{ordered[-1]}"


# --------------------------------------------------------------------------- exclusions


def _pooling_blocked(case: Case, rules: RuleVersion) -> str | None:
    """An explanation line if no pooling applies to this visit at all, else None."""
    inpatient = rules.get("inpatient_excluded")
    if inpatient is not None and inpatient.value and case.member.inpatient:
        return f"参保人住院期间，门诊费用不享受门诊统筹待遇，统筹基金支付 0.00（{inpatient.citation}）"
    chosen = rules.get("chosen_institution")
    # The chosen institution decides where ordinary pooling pays; where it pays nothing anyway
    # (a pharmacy outside pooling), there is nothing to check and the sale goes on.
    in_pooling = case.facility.kind in rules["pooling_facility_kinds"].value
    if chosen is not None and chosen.value["required"] and in_pooling:
        exceptions = chosen.value["exceptions"]
        if "emergency" in exceptions and case.visit.emergency:
            return None
        if "referral" in exceptions and case.visit.referral:
            return None
        if case.facility.id is None:
            raise InputError("facility.id", None, f"需要本机构编码以核对参保人选定的定点医疗机构（{chosen.citation}）")
        if case.member.designated_facility is None:
            raise InputError(
                "member.designated_facility",
                None,
                f"需要参保人选定的定点医疗机构编码（{chosen.citation}）；急救抢救请勾选急诊",
            )
        if case.member.designated_facility != case.facility.id:
            return (
                f"本机构（{case.facility.id}）不是参保人选定的定点医疗机构（{case.member.designated_facility}），"
                f"且非急救抢救、未经转诊，统筹基金不予支付（{chosen.citation}）"
            )
    return None


# --------------------------------------------------------------------------- ordinary pooling


@quick_init
@dataclass(frozen=True)
class _Ordinary:
    deductible: Decimal
    fund: Decimal
    ratio: Decimal
    cap: Decimal | None


def _ordinary(
    case: Case, rules: RuleVersion, figures: PublishedFigures, base: Decimal, lines: Lines, *, pooling: bool
) -> _Ordinary:
    if not pooling:
        return _Ordinary(ZERO, ZERO, ZERO, None)
    status = case.member.status
    if base == ZERO:
        ratio = fund_ratio(case, rules, figures, lines)
        if lines.on:
            lines.append(
                f"普通门诊统筹：本次无符合政策范围的普通门诊费用，统筹基金支付 0.00（{rules['scope'].citation}）"
            )
        return _Ordinary(ZERO, ZERO, ratio, _cap(case, rules, figures))
    deductible = _deductible(case, rules, figures, base, lines)
    ratio = fund_ratio(case, rules, figures, lines)
    cap = _cap(case, rules, figures)
    raw = round_fen((base - deductible) * ratio, STEP_FUND)
    cap_left = _left(cap, case.usage.pool_paid)
    fund = raw if raw <= cap_left else cap_left
    cap_ref = rules["annual_cap"]
    if lines.on:
        lines.append(
            f"年度支付限额（{STATUS_NAMES[status]}，{SCHEME_NAMES[case.member.scheme]}）{fmt(cap)}："
            f"本年已支付 {fmt(case.usage.pool_paid)}，剩余 {fmt(cap_left)}（{cap_ref.citation}）"
        )
    if lines.on:
        text = f"统筹基金支付：({fmt(base)} − 起付线 {fmt(deductible)}) × {percent(ratio)} = {fmt(raw)}"
        if fund < raw:
            text += f"，超过年度限额剩余，按 {fmt(fund)} 支付（{cap_ref.citation}）"
        else:
            text += f"（{rules['fund_share'].citation}）"
        lines.append(text)
    return _Ordinary(deductible, fund, ratio, cap)


def _deductible(case: Case, rules: RuleVersion, figures: PublishedFigures, base: Decimal, lines: Lines) -> Decimal:
    kind = rules["deductible_kind"]
    if kind.value == "none":
        if lines.on:
            lines.append(f"起付线：不设起付线，本次计入 0.00（{kind.citation}）")
        return ZERO
    amount_param = rules["deductible_amount"]
    status = case.member.status
    threshold = figures.amount(amount_param.value[status], amount_param, "起付线", status)
    if kind.value == "annual":
        left = _left(threshold, case.usage.deductible_paid)
        counted = base if base <= left else left
        if lines.on:
            lines.append(
                f"起付线 {fmt(threshold)}（年度累计，{STATUS_NAMES[case.member.status]}）："
                f"本年已累计 {fmt(case.usage.deductible_paid)}，本次计入 {fmt(counted)}（{amount_param.citation}）"
            )
        return counted
    exempt = rules.get("deductible_exempt_facility_kinds")
    if exempt is not None and case.facility.kind in exempt.value:
        if lines.on:
            lines.append(
                f"起付线：{FACILITY_KIND_NAMES[case.facility.kind]}不设起付线，本次计入 0.00（{exempt.citation}）"
            )
        return ZERO
    counted = base if base <= threshold else threshold
    if lines.on:
        lines.append(f"起付线：按次设定，每次 {fmt(threshold)}，本次计入 {fmt(counted)}（{amount_param.citation}）")
    return counted


def _cap(case: Case, rules: RuleVersion, figures: PublishedFigures) -> Decimal:
    """The member's annual cap; one that the rules give as a figure is worked out once per scheme and status."""
    key = ("annual_cap", case.member.scheme, case.member.status)
    known = rules.memo.get(key)
    if known is not None:
        return known
    cap = rules["annual_cap"]
    by_scheme = cap.value.get("any") or cap.value.get(case.member.scheme)
    if by_scheme is None:
        raise InputError(
            "member.scheme",
            case.member.scheme,
            f"本地区没有{SCHEME_NAMES[case.member.scheme]}参保人员的年度支付限额（{cap.citation}）",
        )
    value = by_scheme[case.member.status]
    amount = figures.amount(value, cap, "年度支付限额", case.member.status)
    factor = rules.get("annual_cap_factor")
    if factor is not None and factor.value != 1:
        amount = round_fen(amount * factor.value, STEP_CAP)
    if not isinstance(value, Published):  # one taken from a publication comes with this visit's figures
        rules.memo[key] = amount
    return amount


# --------------------------------------------------------------------------- programmes (两病)


def _programme_pay(
    case: Case, rules: RuleVersion, in_scope_by_route: dict[str, Decimal], programmes: frozenset[str], lines: Lines
) -> dict[str, Decimal]:
    if not programmes:
        return {}
    share = rules["programme_share"]
    caps = rules["programme_caps"]
    cap, names = _programme_cap(case, rules, programmes)
    used = ZERO
    for p in programmes:
        used += case.usage.programme(p)
    left = _left(cap, used)
    result: dict[str, Decimal] = {}
    for name in PROGRAMMES:
        base = in_scope_by_route.get(PROGRAMME_ROUTES[name], ZERO)
        if name not in programmes or base == ZERO:
            continue
        raw = round_fen(base * share.value, STEP_FUND)
        paid = raw if raw <= left else left
        left -= paid
        result[name] = paid
        if lines.on:
            text = (
                f"两病门诊用药（{PROGRAMME_NAMES[name]}）：不设起付线，{fmt(base)} × {percent(share.value)} = "
                f"{fmt(raw)}（{share.citation}）；年度限额 {fmt(cap)}（已备案：{names}），本年已支付 {fmt(used)}"
            )
            if paid < raw:
                text += f"，按限额剩余支付 {fmt(paid)}（{caps.citation}）"
            lines.append(text)
        used += paid
    return result


def _programme_cap(case: Case, rules: RuleVersion, programmes: frozenset[str]) -> tuple[Decimal, str]:
    """The year's cap of a combination of registered programmes, and the combination's names (for the
    explanation), looked up once per rule version and combination."""
    key = ("programme_cap", programmes)
    known = rules.memo.get(key)
    if known is None:
        cap = next((amount for combo, amount in rules["programme_caps"].value if combo == programmes), None)
        if cap is None:
            raise RulesError(case.region, "programme_caps", f"没有 {sorted(programmes)} 组合的限额")
        known = rules.memo[key] = (cap, "、".join(PROGRAMME_NAMES[p] for p in PROGRAMMES if p in programmes))
    return known


# --------------------------------------------------------------------------- the year so far


def _usage_after(usage: Usage, ordinary: _Ordinary, by_programme: dict[str, Decimal]) -> YearUsage:
    """The member's year so far, this visit included."""
    before = usage.programme_paid
    return YearUsage(
        usage.deductible_paid + ordinary.deductible,
        usage.pool_paid + ordinary.fund,
        {p: before.get(p, ZERO) + by_programme[p] if p in by_programme else before.get(p, ZERO) for p in PROGRAMMES},
    )
