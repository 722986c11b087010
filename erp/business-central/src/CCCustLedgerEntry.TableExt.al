// The closed loop's own fields on customer ledger entries, beside the standard
// "Promised Pay Date" and "Dispute Status" (Business Central 2023 release wave 1 and later).
tableextension 50100 "CC Cust. Ledger Entry" extends "Cust. Ledger Entry"
{
    fields
    {
        field(50100; "CC Promised Amount"; Decimal)
        {
            Caption = 'Promised Amount (Credit Control)';
            DataClassification = CustomerContent;
            AutoFormatType = 1;
        }
        field(50101; "CC Disputed Amount"; Decimal)
        {
            Caption = 'Disputed Amount (Credit Control)';
            DataClassification = CustomerContent;
            AutoFormatType = 1;
        }
        field(50102; "CC Dispute Reason"; Text[250])
        {
            Caption = 'Dispute Reason (Credit Control)';
            DataClassification = CustomerContent;
        }
    }
}
