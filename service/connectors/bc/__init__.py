"""Microsoft Dynamics 365 Business Central: API v2.0 customers, sales invoices, sales credit
memos and customer payments, with Entra ID client credentials through ``msal``."""
