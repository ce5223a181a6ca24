"""The gate's rules, one module per kind: numbers and money, lexicons, persona, commitments (claims).

Each rule looks at a sentence (already folded to half-width, see
:func:`~scripts_gen.rules.numbers.fold`) and the catalog records it is about,
and returns :class:`~scripts_gen.rules.hits.RuleHit` s; :class:`scripts_gen.gate.Gate`
runs them all.
"""
