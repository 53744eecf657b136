"""The rules engine: rule books validated from plain data, and the settlement engine.

Pure functions only: no Qt, no files, no database, no clock.

* ``rulebook``: the model, a region's dated parameters and the version in force on a date;
  ``rule_schema`` (each parameter's unit and value check) and ``rule_loader`` (build_rulebook:
  parsed YAML into a rule book, naming file and key on any fault).
* ``engine``: settle one visit, step by step, with ``fund_share`` (the ratio table) and
  ``published`` (figures left to yearly publication).
* ``offline``, ``payment``, ``visit``: the offline cut, who pays the rest, the whole visit.
"""
