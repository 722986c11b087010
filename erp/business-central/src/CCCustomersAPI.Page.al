// GET/PATCH /api/creditControl/closedLoop/v1.0/companies(<id>)/creditControlCustomers
// Only the extension's fields are editable; "Blocked" is shown, never written.
page 50101 "CC Customers API"
{
    PageType = API;
    APIPublisher = 'creditControl';
    APIGroup = 'closedLoop';
    APIVersion = 'v1.0';
    EntityName = 'creditControlCustomer';
    EntitySetName = 'creditControlCustomers';
    EntityCaption = 'Credit Control Customer';
    EntitySetCaption = 'Credit Control Customers';
    SourceTable = Customer;
    ODataKeyFields = SystemId;
    DelayedInsert = true;
    InsertAllowed = false;
    DeleteAllowed = false;
    ModifyAllowed = true;
    Extensible = false;

    layout
    {
        area(Content)
        {
            repeater(Customers)
            {
                field(id; Rec.SystemId) { Editable = false; }
                field(number; Rec."No.") { Editable = false; }
                field(displayName; Rec.Name) { Editable = false; }
                field(blocked; Rec.Blocked) { Editable = false; }
                field(ccPromisedAmount; Rec."CC Promised Amount") { }
                field(ccPromisedPayDate; Rec."CC Promised Pay Date") { }
                field(ccHoldOverrideUntil; Rec."CC Hold Override Until") { }
                field(lastModifiedDateTime; Rec.SystemModifiedAt) { Editable = false; }
            }
        }
    }
}
