"""Oracle NetSuite: customers, invoices, credit memos and customer payments with their
applications through REST SuiteQL; OAuth 2.0 machine-to-machine or token-based auth."""
