"""Roster's database layer: models, migrations, queries and paging."""
