import { LightningElement, api, wire } from 'lwc';
import { createRecord } from 'lightning/uiRecordApi';
import {
    getObjectInfo,
    getPicklistValuesByRecordType
} from 'lightning/uiObjectInfoApi';
import { gql, graphql } from 'lightning/graphql';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import { MessageContext } from 'lightning/messageService';
import { announceActionLogged } from 'c/creditLive';
import hasOverridePermission from '@salesforce/customPermission/Credit_Hold_Override';
import {
    ACTION_SOURCE_SALESFORCE,
    ACTION_TYPE,
    formatCurrency,
    formatDate,
    formatLabel,
    todayIso
} from 'c/creditUtils';

import COLLECTION_ACTION_OBJECT from '@salesforce/schema/Collection_Action__c';
import ACCOUNT_FIELD from '@salesforce/schema/Collection_Action__c.Account__c';
import TYPE_FIELD from '@salesforce/schema/Collection_Action__c.Type__c';
import OUTCOME_FIELD from '@salesforce/schema/Collection_Action__c.Outcome__c';
import NOTES_FIELD from '@salesforce/schema/Collection_Action__c.Notes__c';
import FOLLOW_UP_FIELD from '@salesforce/schema/Collection_Action__c.Follow_Up_Date__c';
import PROMISED_AMOUNT_FIELD from '@salesforce/schema/Collection_Action__c.Promised_Amount__c';
import PROMISED_DATE_FIELD from '@salesforce/schema/Collection_Action__c.Promised_Date__c';
import RECEIVABLE_FIELD from '@salesforce/schema/Collection_Action__c.Receivable__c';
import DISPUTED_AMOUNT_FIELD from '@salesforce/schema/Collection_Action__c.Disputed_Amount__c';
import DISPUTE_REASON_FIELD from '@salesforce/schema/Collection_Action__c.Dispute_Reason__c';
import DISPUTE_STATUS_FIELD from '@salesforce/schema/Collection_Action__c.Dispute_Status__c';
import OVERRIDE_UNTIL_FIELD from '@salesforce/schema/Collection_Action__c.Override_Until__c';
import SOURCE_FIELD from '@salesforce/schema/Collection_Action__c.Source__c';

import LABEL_LOADING from '@salesforce/label/c.CC_Common_Loading';
import LABEL_SAVING from '@salesforce/label/c.CC_Log_Saving';
import LABEL_TYPE from '@salesforce/label/c.CC_Log_Type';
import LABEL_OUTCOME from '@salesforce/label/c.CC_Log_Outcome';
import LABEL_NOTES from '@salesforce/label/c.CC_Log_Notes';
import LABEL_JUSTIFICATION from '@salesforce/label/c.CC_Log_Justification';
import LABEL_FOLLOW_UP from '@salesforce/label/c.CC_Log_FollowUpDate';
import LABEL_PROMISED_DATE from '@salesforce/label/c.CC_Log_PromisedDate';
import LABEL_PROMISED_AMOUNT from '@salesforce/label/c.CC_Log_PromisedAmount';
import LABEL_INVOICE from '@salesforce/label/c.CC_Log_Invoice';
import LABEL_INVOICE_OPTION from '@salesforce/label/c.CC_Log_InvoiceOption';
import LABEL_NO_INVOICES from '@salesforce/label/c.CC_Log_NoInvoices';
import LABEL_DISPUTED_AMOUNT from '@salesforce/label/c.CC_Log_DisputedAmount';
import LABEL_DISPUTE_REASON from '@salesforce/label/c.CC_Log_DisputeReason';
import LABEL_OVERRIDE_UNTIL from '@salesforce/label/c.CC_Log_OverrideUntil';
import LABEL_OVERRIDE_HELP from '@salesforce/label/c.CC_Log_OverrideHelp';
import LABEL_SELECT from '@salesforce/label/c.CC_Log_Select';
import LABEL_SUBMIT from '@salesforce/label/c.CC_Log_Submit';
import LABEL_REQUIRED from '@salesforce/label/c.CC_Log_RequiredMissing';
import LABEL_DATE_PAST from '@salesforce/label/c.CC_Log_DateInPast';
import LABEL_AMOUNT_POSITIVE from '@salesforce/label/c.CC_Log_AmountPositive';
import LABEL_AMOUNT_TOO_HIGH from '@salesforce/label/c.CC_Log_AmountTooHigh';
import LABEL_SAVE_ERROR from '@salesforce/label/c.CC_Log_SaveError';
import LABEL_LOAD_ERROR from '@salesforce/label/c.CC_Log_LoadError';
import LABEL_READ_ONLY from '@salesforce/label/c.CC_Log_ReadOnly';
import LABEL_SUCCESS_TITLE from '@salesforce/label/c.CC_Log_SuccessTitle';
import LABEL_SUCCESS_MESSAGE from '@salesforce/label/c.CC_Log_SuccessMessage';

// The types a person logs here, in this order; the labels come from the picklist.
const LOGGABLE_TYPES = [
    ACTION_TYPE.CALL,
    ACTION_TYPE.EMAIL,
    ACTION_TYPE.NOTE,
    ACTION_TYPE.PROMISE,
    ACTION_TYPE.DISPUTE,
    ACTION_TYPE.OVERRIDE
];

const DISPUTE_STATUS_OPEN = 'Open';

/**
 * The form to log what a credit controller did (call, email, note, promise to pay, dispute,
 * hold override) as a Collection_Action__c. Fires `logged` ({ id, type }) after each save.
 */
export default class CollectionActionForm extends LightningElement {
    /** The Account the action concerns. */
    @api recordId;

    @wire(MessageContext) messageContext;
    /** Type to preselect, e.g. "Dispute" when opened from an open item. */
    @api defaultType;
    /** Receivable__c to preselect for a dispute. */
    @api receivableId;
    /** Amount to prefill for a promise or a dispute. */
    @api amount;

    labels = {
        loading: LABEL_LOADING,
        saving: LABEL_SAVING,
        type: LABEL_TYPE,
        outcome: LABEL_OUTCOME,
        followUp: LABEL_FOLLOW_UP,
        promisedDate: LABEL_PROMISED_DATE,
        promisedAmount: LABEL_PROMISED_AMOUNT,
        invoice: LABEL_INVOICE,
        noInvoices: LABEL_NO_INVOICES,
        disputedAmount: LABEL_DISPUTED_AMOUNT,
        disputeReason: LABEL_DISPUTE_REASON,
        overrideUntil: LABEL_OVERRIDE_UNTIL,
        overrideHelp: LABEL_OVERRIDE_HELP,
        select: LABEL_SELECT,
        submit: LABEL_SUBMIT,
        saveError: LABEL_SAVE_ERROR,
        loadError: LABEL_LOAD_ERROR,
        readOnly: LABEL_READ_ONLY
    };

    draft = {};
    selectedType;
    isSaving = false;
    saveError;
    validationMessage;

    today = todayIso();

    @wire(getObjectInfo, { objectApiName: COLLECTION_ACTION_OBJECT })
    objectInfo;

    @wire(getPicklistValuesByRecordType, {
        objectApiName: COLLECTION_ACTION_OBJECT,
        recordTypeId: '$recordTypeId'
    })
    picklists;

    /** The Account's open invoices, the ones a dispute can concern. */
    invoices;

    @wire(graphql, {
        query: gql`
            query openInvoices($accountId: ID) {
                uiapi {
                    query {
                        Receivable__c(
                            where: {
                                and: [
                                    { Account__c: { eq: $accountId } }
                                    { Type__c: { eq: "Invoice" } }
                                    {
                                        Status__c: {
                                            in: [
                                                "Open"
                                                "Partially Paid"
                                                "Disputed"
                                            ]
                                        }
                                    }
                                ]
                            }
                            orderBy: { Due_Date__c: { order: ASC } }
                            first: 200
                        ) {
                            edges {
                                node {
                                    Id
                                    Name {
                                        value
                                    }
                                    Due_Date__c: Due_Date__c {
                                        value
                                    }
                                    Open_Amount__c: Open_Amount__c {
                                        value
                                    }
                                    Currency_Code__c: Currency_Code__c {
                                        value
                                    }
                                }
                            }
                        }
                    }
                }
            }
        `,
        variables: '$graphqlVariables'
    })
    wiredInvoices({ data }) {
        if (data) {
            this.invoices = data.uiapi.query.Receivable__c.edges.map(
                (edge) => edge.node
            );
        }
    }

    get graphqlVariables() {
        return { accountId: this.recordId };
    }

    connectedCallback() {
        this.resetDraft();
    }

    get recordTypeId() {
        return this.objectInfo && this.objectInfo.data
            ? this.objectInfo.data.defaultRecordTypeId
            : undefined;
    }

    get canCreate() {
        return !!(
            this.objectInfo &&
            this.objectInfo.data &&
            this.objectInfo.data.createable
        );
    }

    get canOverride() {
        return !!hasOverridePermission;
    }

    get formError() {
        return (
            (this.objectInfo && this.objectInfo.error) ||
            (this.picklists && this.picklists.error)
        );
    }

    get formLoading() {
        return !this.formError && !(this.objectInfo && this.objectInfo.data);
    }

    get formReady() {
        return this.canCreate && !!(this.picklists && this.picklists.data);
    }

    get readOnly() {
        return !!(this.objectInfo && this.objectInfo.data) && !this.canCreate;
    }

    picklistOptions(field) {
        const values =
            this.picklists &&
            this.picklists.data &&
            this.picklists.data.picklistFieldValues[field.fieldApiName];
        return values
            ? values.values.map(({ label, value }) => ({ label, value }))
            : [];
    }

    get typeOptions() {
        const allowed = LOGGABLE_TYPES.filter(
            (type) => type !== ACTION_TYPE.OVERRIDE || this.canOverride
        );
        const options = this.picklistOptions(TYPE_FIELD);
        return allowed
            .map((type) => options.find((option) => option.value === type))
            .filter((option) => !!option);
    }

    get outcomeOptions() {
        return this.picklistOptions(OUTCOME_FIELD);
    }

    get reasonOptions() {
        return this.picklistOptions(DISPUTE_REASON_FIELD);
    }

    get invoiceOptions() {
        return (this.invoices || []).map((invoice) => ({
            value: invoice.Id,
            label: formatLabel(
                LABEL_INVOICE_OPTION,
                invoice.Name.value,
                formatCurrency(
                    invoice.Open_Amount__c.value,
                    invoice.Currency_Code__c.value
                ),
                formatDate(invoice.Due_Date__c.value)
            )
        }));
    }

    get hasInvoices() {
        return this.invoiceOptions.length > 0;
    }

    get selectedInvoice() {
        return (this.invoices || []).find(
            (invoice) =>
                invoice.Id === this.draft[RECEIVABLE_FIELD.fieldApiName]
        );
    }

    get showOutcome() {
        return (
            this.selectedType === ACTION_TYPE.CALL ||
            this.selectedType === ACTION_TYPE.EMAIL
        );
    }

    get showFollowUp() {
        return [ACTION_TYPE.CALL, ACTION_TYPE.EMAIL, ACTION_TYPE.NOTE].includes(
            this.selectedType
        );
    }

    get isPromise() {
        return this.selectedType === ACTION_TYPE.PROMISE;
    }

    get isDispute() {
        return this.selectedType === ACTION_TYPE.DISPUTE;
    }

    get isOverride() {
        return this.selectedType === ACTION_TYPE.OVERRIDE && this.canOverride;
    }

    get notesRequired() {
        return (
            this.selectedType === ACTION_TYPE.NOTE ||
            this.selectedType === ACTION_TYPE.OVERRIDE
        );
    }

    get notesLabel() {
        return this.selectedType === ACTION_TYPE.OVERRIDE
            ? LABEL_JUSTIFICATION
            : LABEL_NOTES;
    }

    get submitDisabled() {
        return this.isSaving || !this.selectedType;
    }

    // field values for the template
    get outcome() {
        return this.draft[OUTCOME_FIELD.fieldApiName];
    }
    get notes() {
        return this.draft[NOTES_FIELD.fieldApiName];
    }
    get followUpDate() {
        return this.draft[FOLLOW_UP_FIELD.fieldApiName];
    }
    get promisedDate() {
        return this.draft[PROMISED_DATE_FIELD.fieldApiName];
    }
    get promisedAmount() {
        return this.draft[PROMISED_AMOUNT_FIELD.fieldApiName];
    }
    get receivable() {
        return this.draft[RECEIVABLE_FIELD.fieldApiName];
    }
    get disputedAmount() {
        return this.draft[DISPUTED_AMOUNT_FIELD.fieldApiName];
    }
    get disputeReason() {
        return this.draft[DISPUTE_REASON_FIELD.fieldApiName];
    }
    get overrideUntil() {
        return this.draft[OVERRIDE_UNTIL_FIELD.fieldApiName];
    }

    get fieldNames() {
        return {
            outcome: OUTCOME_FIELD.fieldApiName,
            notes: NOTES_FIELD.fieldApiName,
            followUp: FOLLOW_UP_FIELD.fieldApiName,
            promisedDate: PROMISED_DATE_FIELD.fieldApiName,
            promisedAmount: PROMISED_AMOUNT_FIELD.fieldApiName,
            receivable: RECEIVABLE_FIELD.fieldApiName,
            disputedAmount: DISPUTED_AMOUNT_FIELD.fieldApiName,
            disputeReason: DISPUTE_REASON_FIELD.fieldApiName,
            overrideUntil: OVERRIDE_UNTIL_FIELD.fieldApiName
        };
    }

    resetDraft() {
        const type =
            this.defaultType &&
            (this.defaultType !== ACTION_TYPE.OVERRIDE || this.canOverride)
                ? this.defaultType
                : ACTION_TYPE.CALL;
        this.selectedType = type;
        this.draft = {};
        if (type === ACTION_TYPE.DISPUTE) {
            this.draft = {
                [RECEIVABLE_FIELD.fieldApiName]: this.receivableId,
                [DISPUTED_AMOUNT_FIELD.fieldApiName]: this.amount
            };
        } else if (type === ACTION_TYPE.PROMISE) {
            this.draft = { [PROMISED_AMOUNT_FIELD.fieldApiName]: this.amount };
        }
        this.validationMessage = undefined;
    }

    // ----- handlers -----

    handleTypeChange(event) {
        this.selectedType = event.detail.value;
        this.validationMessage = undefined;
        this.saveError = undefined;
    }

    handleFieldChange(event) {
        const field = event.target.dataset.field;
        this.draft = { ...this.draft, [field]: event.detail.value };
        if (field === RECEIVABLE_FIELD.fieldApiName && this.selectedInvoice) {
            // Default the disputed amount to what is open on the invoice.
            this.draft = {
                ...this.draft,
                [DISPUTED_AMOUNT_FIELD.fieldApiName]:
                    this.draft[DISPUTED_AMOUNT_FIELD.fieldApiName] ||
                    this.selectedInvoice.Open_Amount__c.value
            };
        }
    }

    /** The fields of the record to create, or a message saying what is wrong. */
    buildFields() {
        const draft = this.draft;
        const value = (field) => {
            const raw = draft[field.fieldApiName];
            return raw === '' || raw === null ? undefined : raw;
        };
        const fields = {
            [ACCOUNT_FIELD.fieldApiName]: this.recordId,
            [TYPE_FIELD.fieldApiName]: this.selectedType,
            [SOURCE_FIELD.fieldApiName]: ACTION_SOURCE_SALESFORCE,
            [NOTES_FIELD.fieldApiName]: value(NOTES_FIELD)
        };
        const required = [];
        const futureDates = [];
        const amounts = [];
        if (this.showOutcome) {
            fields[OUTCOME_FIELD.fieldApiName] = value(OUTCOME_FIELD);
        }
        if (this.showFollowUp) {
            futureDates.push(FOLLOW_UP_FIELD);
            fields[FOLLOW_UP_FIELD.fieldApiName] = value(FOLLOW_UP_FIELD);
        }
        if (this.notesRequired) {
            required.push(NOTES_FIELD);
        }
        if (this.isPromise) {
            required.push(PROMISED_DATE_FIELD, PROMISED_AMOUNT_FIELD);
            futureDates.push(PROMISED_DATE_FIELD);
            amounts.push(PROMISED_AMOUNT_FIELD);
            fields[PROMISED_DATE_FIELD.fieldApiName] =
                value(PROMISED_DATE_FIELD);
            fields[PROMISED_AMOUNT_FIELD.fieldApiName] = value(
                PROMISED_AMOUNT_FIELD
            );
        } else if (this.isDispute) {
            required.push(
                RECEIVABLE_FIELD,
                DISPUTED_AMOUNT_FIELD,
                DISPUTE_REASON_FIELD
            );
            amounts.push(DISPUTED_AMOUNT_FIELD);
            fields[RECEIVABLE_FIELD.fieldApiName] = value(RECEIVABLE_FIELD);
            fields[DISPUTED_AMOUNT_FIELD.fieldApiName] = value(
                DISPUTED_AMOUNT_FIELD
            );
            fields[DISPUTE_REASON_FIELD.fieldApiName] =
                value(DISPUTE_REASON_FIELD);
            fields[DISPUTE_STATUS_FIELD.fieldApiName] = DISPUTE_STATUS_OPEN;
        } else if (this.selectedType === ACTION_TYPE.OVERRIDE) {
            if (!this.canOverride) {
                return { message: LABEL_REQUIRED };
            }
            required.push(OVERRIDE_UNTIL_FIELD);
            futureDates.push(OVERRIDE_UNTIL_FIELD);
            fields[OVERRIDE_UNTIL_FIELD.fieldApiName] =
                value(OVERRIDE_UNTIL_FIELD);
        }

        if (
            required.some((field) => fields[field.fieldApiName] === undefined)
        ) {
            return { message: LABEL_REQUIRED };
        }
        if (
            futureDates.some((field) => {
                const date = fields[field.fieldApiName];
                return date !== undefined && date < this.today;
            })
        ) {
            return { message: LABEL_DATE_PAST };
        }
        if (
            amounts.some((field) => !(Number(fields[field.fieldApiName]) > 0))
        ) {
            return { message: LABEL_AMOUNT_POSITIVE };
        }
        amounts.forEach((field) => {
            fields[field.fieldApiName] = Number(fields[field.fieldApiName]);
        });
        if (
            this.isDispute &&
            this.selectedInvoice &&
            fields[DISPUTED_AMOUNT_FIELD.fieldApiName] >
                this.selectedInvoice.Open_Amount__c.value
        ) {
            return { message: LABEL_AMOUNT_TOO_HIGH };
        }
        Object.keys(fields).forEach((key) => {
            if (fields[key] === undefined) {
                delete fields[key];
            }
        });
        return { fields };
    }

    async handleSubmit() {
        this.saveError = undefined;
        const inputs = [...this.template.querySelectorAll('[data-field]')];
        const inputsValid = inputs.reduce(
            (valid, input) => input.reportValidity() !== false && valid,
            true
        );
        const { fields, message } = this.buildFields();
        if (!inputsValid || message) {
            this.validationMessage = message || LABEL_REQUIRED;
            return;
        }
        this.validationMessage = undefined;
        this.isSaving = true;
        try {
            const record = await createRecord({
                apiName: COLLECTION_ACTION_OBJECT.objectApiName,
                fields
            });
            const typeLabel = (
                this.typeOptions.find(
                    (option) => option.value === this.selectedType
                ) || {}
            ).label;
            this.dispatchEvent(
                new ShowToastEvent({
                    title: LABEL_SUCCESS_TITLE,
                    message: formatLabel(
                        LABEL_SUCCESS_MESSAGE,
                        typeLabel || this.selectedType
                    ),
                    variant: 'success'
                })
            );
            // Every component on the page showing this Account hears of it, and the page
            // re-reads the Account every few seconds until the service's answer shows.
            announceActionLogged(this.messageContext, this.recordId, {
                id: record.id,
                type: this.selectedType
            });
            this.dispatchEvent(
                new CustomEvent('logged', {
                    detail: { id: record.id, type: this.selectedType }
                })
            );
            this.resetDraft();
        } catch (error) {
            this.saveError = error;
        } finally {
            this.isSaving = false;
        }
    }
}
