"""Administration: supervision loads, load rules, accounts, programs and institutions."""
