// What the closed loop records on the customer: a promise that names no invoice, and the date
// a hold override in Salesforce runs to. "Blocked" is never written by the service.
tableextension 50101 "CC Customer" extends Customer
{
    fields
    {
        field(50100; "CC Promised Amount"; Decimal)
        {
            Caption = 'Promised Amount (Credit Control)';
            DataClassification = CustomerContent;
            AutoFormatType = 1;
        }
        field(50101; "CC Promised Pay Date"; Date)
        {
            Caption = 'Promised Pay Date (Credit Control)';
            DataClassification = CustomerContent;
        }
        field(50102; "CC Hold Override Until"; Date)
        {
            Caption = 'Credit Hold Override Until (Credit Control)';
            DataClassification = CustomerContent;
        }
    }
}
