"""One module per chapter (`ch01`, `ch02`, ... `ch07`): its parameters as `PARAMS = dict(name=Param(book,
help, smoke=..., paper=...))` and `check(values)`, the cross-parameter rules run by `config.resolve`
before any work. The helpers that decide a chapter's verdicts live here too. `metrics` never imports
this package."""
