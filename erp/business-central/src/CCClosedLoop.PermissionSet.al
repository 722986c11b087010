// For the Entra ID app's user: read the pages, change ledger entries only through them
// (indirect "m"), read posted payments' applications and the invoices they closed (the pull),
// and keep lines in the cash journal (to post them is the accountant's).
permissionset 50100 "CC CLOSED LOOP"
{
    Assignable = true;
    Caption = 'Credit Control closed loop';
    Permissions =
        tabledata "Cust. Ledger Entry" = Rm,
        tabledata Customer = RM,
        tabledata "Detailed Cust. Ledg. Entry" = R,
        tabledata "Sales Invoice Header" = R,
        tabledata "Dispute Status" = R,
        tabledata "Gen. Journal Batch" = R,
        tabledata "Gen. Journal Line" = RIMD,
        page "CC Customer Ledger Entries API" = X,
        page "CC Customers API" = X;
}
