// GET/PATCH /api/creditControl/closedLoop/v1.0/companies(<id>)/customerLedgerEntries
// Only the promise and dispute fields are editable; the page neither inserts nor deletes, and
// amounts are read-only FlowFields. A modification is written through the entry itself
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
    Permissions = tabledata "Cust. Ledger Entry" = rm;

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
                field(amount; Rec.Amount) { Editable = false; }
                field(remainingAmount; Rec."Remaining Amount") { Editable = false; }
                field(open; Rec.Open) { Editable = false; }
                field(promisedPayDate; Rec."Promised Pay Date") { }
                field(disputeStatus; Rec."Dispute Status") { }
                field(ccPromisedAmount; Rec."CC Promised Amount") { }
                field(ccDisputedAmount; Rec."CC Disputed Amount") { }
                field(ccDisputeReason; Rec."CC Dispute Reason") { }
                field(lastModifiedDateTime; Rec.SystemModifiedAt) { Editable = false; }
            }
        }
    }

    trigger OnAfterGetRecord()
    begin
        Rec.CalcFields(Amount, "Remaining Amount");
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
