"""Bank statements: reading camt, MT940/MT942 and BAI2 files into the credits they report."""
