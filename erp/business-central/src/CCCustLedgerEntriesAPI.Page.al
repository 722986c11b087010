// GET/PATCH /api/creditControl/closedLoop/v1.0/companies(<id>)/customerLedgerEntries
// Only the promise and dispute fields are editable; the page neither inserts nor deletes, and
// amounts are read-only FlowFields. The service's pull reads the entries of type Payment
// (posted payments, which API v2.0 does not publish) by lastModifiedDateTime; ccAppliedTo
// names the posted sales invoices each one closed, as "<salesInvoices id>:<amount>" joined
// by ";" (the amounts in the entry's currency, positive). A modification is written through the entry itself
// (indirect permission, as the Customer Ledger Entries page edits its editable fields).
page 50100 "CC Customer Ledger Entries API"
{
    PageType = API;
    APIPublisher = 'creditControl';
    APIGroup = 'closedLoop';
    APIVersion = 'v1.0';
    EntityName = 'customerLedgerEntry';
    EntitySetName = 'customerLedgerEntries';
    EntityCaption = 'Customer Ledger Entry';
    EntitySetCaption = 'Customer Ledger Entries';
    SourceTable = "Cust. Ledger Entry";
    ODataKeyFields = SystemId;
    DelayedInsert = true;
    InsertAllowed = false;
    DeleteAllowed = false;
    ModifyAllowed = true;
    Extensible = false;
    Permissions = tabledata "Cust. Ledger Entry" = rm, tabledata "Detailed Cust. Ledg. Entry" = r,
        tabledata "Sales Invoice Header" = r;

    layout
    {
        area(Content)
        {
            repeater(Entries)
            {
                field(id; Rec.SystemId) { Editable = false; }
                field(entryNumber; Rec."Entry No.") { Editable = false; }
                field(customerNumber; Rec."Customer No.") { Editable = false; }
                field(documentType; Rec."Document Type") { Editable = false; }
                field(documentNumber; Rec."Document No.") { Editable = false; }
                field(externalDocumentNumber; Rec."External Document No.") { Editable = false; }
                field(postingDate; Rec."Posting Date") { Editable = false; }
                field(dueDate; Rec."Due Date") { Editable = false; }
                field(currencyCode; Rec."Currency Code") { Editable = false; }
                field(amount; Rec.Amount) { Editable = false; }
                field(remainingAmount; Rec."Remaining Amount") { Editable = false; }
                field(open; Rec.Open) { Editable = false; }
                field(reversed; Rec.Reversed) { Editable = false; }
                field(ccAppliedTo; AppliedTo) { Editable = false; }
                field(promisedPayDate; Rec."Promised Pay Date") { }
                field(disputeStatus; Rec."Dispute Status") { }
                field(ccPromisedAmount; Rec."CC Promised Amount") { }
                field(ccDisputedAmount; Rec."CC Disputed Amount") { }
                field(ccDisputeReason; Rec."CC Dispute Reason") { }
                field(lastModifiedDateTime; Rec.SystemModifiedAt) { Editable = false; }
            }
        }
    }

    var
        AppliedTo: Text;

    trigger OnAfterGetRecord()
    begin
        Rec.CalcFields(Amount, "Remaining Amount");
        AppliedTo := '';
        if Rec."Document Type" = Rec."Document Type"::Payment then
            AppliedTo := AppliedInvoices(Rec."Entry No.");
    end;

    // The invoices a payment entry was applied to, and how much of it each took: the
    // application detailed entries not unapplied, read from both sides, as the standard
    // "Applied Customer Entries" page finds them.
    local procedure AppliedInvoices(PaymentEntryNo: Integer): Text
    var
        Own: Record "Detailed Cust. Ledg. Entry";
        Other: Record "Detailed Cust. Ledg. Entry";
        Result: Text;
    begin
        Own.SetCurrentKey("Cust. Ledger Entry No.");
        Own.SetRange("Cust. Ledger Entry No.", PaymentEntryNo);
        Own.SetRange("Entry Type", Own."Entry Type"::Application);
        Own.SetRange(Unapplied, false);
        if Own.FindSet() then
            repeat
                if Own."Applied Cust. Ledger Entry No." = PaymentEntryNo then begin
                    // The payment applied others: their own application entries name it.
                    Other.SetCurrentKey("Applied Cust. Ledger Entry No.", "Entry Type");
                    Other.SetRange("Applied Cust. Ledger Entry No.", PaymentEntryNo);
                    Other.SetRange("Entry Type", Other."Entry Type"::Application);
                    Other.SetRange(Unapplied, false);
                    Other.SetFilter("Cust. Ledger Entry No.", '<>%1', PaymentEntryNo);
                    if Other.FindSet() then
                        repeat
                            Add(Result, Other."Cust. Ledger Entry No.", Other.Amount);
                        until Other.Next() = 0;
                end else
                    // Another entry applied the payment: this entry names it.
                    Add(Result, Own."Applied Cust. Ledger Entry No.", -Own.Amount);
            until Own.Next() = 0;
        exit(Result);
    end;

    local procedure Add(var Result: Text; InvoiceEntryNo: Integer; Applied: Decimal)
    var
        InvoiceEntry: Record "Cust. Ledger Entry";
        SalesInvoiceHeader: Record "Sales Invoice Header";
        InvoiceId: Guid;
    begin
        if not InvoiceEntry.Get(InvoiceEntryNo) then
            exit;
        if InvoiceEntry."Document Type" <> InvoiceEntry."Document Type"::Invoice then
            exit;
        if not SalesInvoiceHeader.Get(InvoiceEntry."Document No.") then
            exit;
        // API v2.0's salesInvoices id of a posted invoice: the draft's id it kept, if any.
        InvoiceId := SalesInvoiceHeader."Draft Invoice SystemId";
        if IsNullGuid(InvoiceId) then
            InvoiceId := SalesInvoiceHeader.SystemId;
        if Result <> '' then
            Result += ';';
        Result += LowerCase(DelChr(Format(InvoiceId), '=', '{}')) + ':' +
            Format(Abs(Applied), 0, 9);
    end;

    trigger OnModifyRecord(): Boolean
    var
        Entry: Record "Cust. Ledger Entry";
    begin
        Entry.GetBySystemId(Rec.SystemId);
        Entry.Validate("Promised Pay Date", Rec."Promised Pay Date");
        Entry.Validate("Dispute Status", Rec."Dispute Status");
        Entry."CC Promised Amount" := Rec."CC Promised Amount";
        Entry."CC Disputed Amount" := Rec."CC Disputed Amount";
        Entry."CC Dispute Reason" := Rec."CC Dispute Reason";
        Entry.Modify(true);
        Rec := Entry;
        Rec.CalcFields(Amount, "Remaining Amount");
        exit(false);
    end;
}
