import { LightningElement, api, wire } from 'lwc';
import { createRecord } from 'lightning/uiRecordApi';
import {
    getObjectInfo,
    getPicklistValuesByRecordType
} from 'lightning/uiObjectInfoApi';
import { gql, graphql } from 'lightning/graphql';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import hasOverridePermission from '@salesforce/customPermission/Credit_Hold_Override';
import {
    formatCurrency,
    formatDate,
    formatLabel,
    todayIso,
    refreshGraphQLResult
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

import LABEL_TITLE from '@salesforce/label/c.CC_Log_Title';
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
import LABEL_TIMELINE from '@salesforce/label/c.CC_Log_Timeline';
import LABEL_TIMELINE_EMPTY from '@salesforce/label/c.CC_Log_TimelineEmpty';
import LABEL_SUMMARY_PROMISE from '@salesforce/label/c.CC_Log_SummaryPromise';
import LABEL_SUMMARY_DISPUTE from '@salesforce/label/c.CC_Log_SummaryDispute';
import LABEL_SUMMARY_OVERRIDE from '@salesforce/label/c.CC_Log_SummaryOverride';
import LABEL_SUMMARY_FOLLOW_UP from '@salesforce/label/c.CC_Log_SummaryFollowUp';
import LABEL_BY_USER from '@salesforce/label/c.CC_Log_ByUser';
import LABEL_BY_SERVICE from '@salesforce/label/c.CC_Log_ByService';

const TYPE = Object.freeze({
    CALL: 'Call',
    EMAIL: 'Email',
    NOTE: 'Note',
    PROMISE: 'Promise to Pay',
    DISPUTE: 'Dispute',
    OVERRIDE: 'Hold Override'
});

// The types a person logs here, in this order; the labels come from the picklist.
const LOGGABLE_TYPES = [
    TYPE.CALL,
    TYPE.EMAIL,
    TYPE.NOTE,
    TYPE.PROMISE,
    TYPE.DISPUTE,
    TYPE.OVERRIDE
];

const TIMELINE_ICONS = {
    Call: 'standard:log_a_call',
    Email: 'standard:email',
    Letter: 'standard:contract',
    Meeting: 'standard:event',
    Note: 'standard:note',
    'Promise to Pay': 'standard:currency',
    Dispute: 'standard:case',
    'Hold Override': 'standard:approval',
    'Reminder Sent': 'standard:email'
};

const SOURCE_SALESFORCE = 'Salesforce';
const DISPUTE_STATUS_OPEN = 'Open';
const TIMELINE_SIZE = 20;

/**
 * Logs what a credit controller did (call, email, note, promise to pay, dispute, hold
 * override) as a Collection_Action__c, and shows the Account's timeline of actions.
 */
export default class CollectionActionLog extends LightningElement {
    /** The Account the actions concern. */
    @api recordId;
    /** Type to preselect, e.g. "Dispute" when opened from an open item. */
    @api defaultType;
    /** Receivable__c to preselect for a dispute. */
    @api receivableId;
    /** Amount to prefill for a promise or a dispute. */
    @api amount;
    /** Show only the form (when embedded in a dialog). */
    @api hideTimeline = false;

    labels = {
        title: LABEL_TITLE,
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
        readOnly: LABEL_READ_ONLY,
        timeline: LABEL_TIMELINE,
        timelineEmpty: LABEL_TIMELINE_EMPTY
    };

    draft = {};
    selectedType;
    isSaving = false;
    saveError;
    validationMessage;
    initialised = false;

    today = todayIso();

    @wire(getObjectInfo, { objectApiName: COLLECTION_ACTION_OBJECT })
    objectInfo;

    @wire(getPicklistValuesByRecordType, {
        objectApiName: COLLECTION_ACTION_OBJECT,
        recordTypeId: '$recordTypeId'
    })
    picklists;

    graphqlResult;
    actions;
    invoices;
    graphqlErrors;

    @wire(graphql, {
        query: gql`
            query collectionActionLog($accountId: ID, $timelineSize: Int) {
                uiapi {
                    query {
                        Collection_Action__c(
                            where: { Account__c: { eq: $accountId } }
                            orderBy: { CreatedDate: { order: DESC } }
                            first: $timelineSize
                        ) {
                            edges {
                                node {
                                    Id
                                    Type__c: Type__c {
                                        value
                                        displayValue
                                    }
                                    Outcome__c: Outcome__c {
                                        value
                                        displayValue
                                    }
                                    Notes__c: Notes__c {
                                        value
                                    }
                                    Promised_Amount__c: Promised_Amount__c {
                                        value
                                    }
                                    Promised_Date__c: Promised_Date__c {
                                        value
                                    }
                                    Disputed_Amount__c: Disputed_Amount__c {
                                        value
                                    }
                                    Dispute_Reason__c: Dispute_Reason__c {
                                        value
                                        displayValue
                                    }
                                    Dispute_Status__c: Dispute_Status__c {
                                        value
                                        displayValue
                                    }
                                    Override_Until__c: Override_Until__c {
                                        value
                                    }
                                    Follow_Up_Date__c: Follow_Up_Date__c {
                                        value
                                    }
                                    Source__c: Source__c {
                                        value
                                    }
                                    CreatedDate {
                                        value
                                    }
                                    CreatedBy {
                                        Name {
                                            value
                                        }
                                    }
                                    Receivable__r: Receivable__r {
                                        Name {
                                            value
                                        }
                                    }
                                }
                            }
                        }
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
    wiredActions(result) {
        const { data, errors } = result;
        this.graphqlErrors = errors;
        if (data || errors) {
            // Keep the last delivered result (and its refresh) across loading emissions.
            this.graphqlResult = result;
        }
        if (data) {
            const query = data.uiapi.query;
            this.actions = query.Collection_Action__c.edges.map(
                (edge) => edge.node
            );
            this.invoices = query.Receivable__c.edges.map((edge) => edge.node);
        }
    }

    get graphqlVariables() {
        return { accountId: this.recordId, timelineSize: TIMELINE_SIZE };
    }

    connectedCallback() {
        this.resetDraft();
    }

    // ----- form state -----

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
            (type) => type !== TYPE.OVERRIDE || this.canOverride
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
            this.selectedType === TYPE.CALL || this.selectedType === TYPE.EMAIL
        );
    }

    get showFollowUp() {
        return [TYPE.CALL, TYPE.EMAIL, TYPE.NOTE].includes(this.selectedType);
    }

    get isPromise() {
        return this.selectedType === TYPE.PROMISE;
    }

    get isDispute() {
        return this.selectedType === TYPE.DISPUTE;
    }

    get isOverride() {
        return this.selectedType === TYPE.OVERRIDE && this.canOverride;
    }

    get notesRequired() {
        return (
            this.selectedType === TYPE.NOTE ||
            this.selectedType === TYPE.OVERRIDE
        );
    }

    get notesLabel() {
        return this.selectedType === TYPE.OVERRIDE
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
            (this.defaultType !== TYPE.OVERRIDE || this.canOverride)
                ? this.defaultType
                : TYPE.CALL;
        this.selectedType = type;
        this.draft = {};
        if (type === TYPE.DISPUTE) {
            this.draft = {
                [RECEIVABLE_FIELD.fieldApiName]: this.receivableId,
                [DISPUTED_AMOUNT_FIELD.fieldApiName]: this.amount
            };
        } else if (type === TYPE.PROMISE) {
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
            [SOURCE_FIELD.fieldApiName]: SOURCE_SALESFORCE,
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
        } else if (this.selectedType === TYPE.OVERRIDE) {
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
            this.dispatchEvent(
                new CustomEvent('logged', {
                    detail: { id: record.id, type: this.selectedType }
                })
            );
            this.resetDraft();
            await refreshGraphQLResult(this.graphqlResult);
        } catch (error) {
            this.saveError = error;
        } finally {
            this.isSaving = false;
        }
    }

    // ----- timeline -----

    get showTimeline() {
        return !this.hideTimeline;
    }

    get timelineLoading() {
        return !this.actions && !this.graphqlErrors;
    }

    get timelineItems() {
        return (this.actions || []).map((action) => ({
            id: action.Id,
            typeLabel: action.Type__c.displayValue || action.Type__c.value,
            iconName: TIMELINE_ICONS[action.Type__c.value] || 'standard:task',
            createdDate: action.CreatedDate.value,
            summary: this.summarise(action),
            notes: action.Notes__c.value,
            byLine:
                action.Source__c.value === SOURCE_SALESFORCE
                    ? formatLabel(
                          LABEL_BY_USER,
                          action.CreatedBy && action.CreatedBy.Name.value
                      )
                    : LABEL_BY_SERVICE
        }));
    }

    get hasTimelineItems() {
        return this.timelineItems.length > 0;
    }

    summarise(action) {
        switch (action.Type__c.value) {
            case TYPE.PROMISE:
                return formatLabel(
                    LABEL_SUMMARY_PROMISE,
                    formatCurrency(action.Promised_Amount__c.value),
                    formatDate(action.Promised_Date__c.value)
                );
            case TYPE.DISPUTE:
                return formatLabel(
                    LABEL_SUMMARY_DISPUTE,
                    formatCurrency(action.Disputed_Amount__c.value),
                    action.Receivable__r ? action.Receivable__r.Name.value : '',
                    action.Dispute_Reason__c.displayValue ||
                        action.Dispute_Reason__c.value,
                    action.Dispute_Status__c.displayValue ||
                        action.Dispute_Status__c.value
                );
            case TYPE.OVERRIDE:
                return formatLabel(
                    LABEL_SUMMARY_OVERRIDE,
                    formatDate(action.Override_Until__c.value)
                );
            default: {
                const parts = [];
                if (action.Outcome__c.value) {
                    parts.push(
                        action.Outcome__c.displayValue ||
                            action.Outcome__c.value
                    );
                }
                if (action.Follow_Up_Date__c.value) {
                    parts.push(
                        formatLabel(
                            LABEL_SUMMARY_FOLLOW_UP,
                            formatDate(action.Follow_Up_Date__c.value)
                        )
                    );
                }
                return parts.join(' · ');
            }
        }
    }
}
