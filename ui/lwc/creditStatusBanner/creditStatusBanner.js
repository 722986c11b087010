import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import { MessageContext } from 'lightning/messageService';
import { isAccessError } from 'c/ldsUtils';
import {
    CREDIT_CURRENCY_FIELD,
    RECORD_CURRENCY_FIELD,
    STATUS,
    accountCurrency,
    formatLabel,
    statusPresentation,
    todayIso
} from 'c/creditUtils';
import {
    AccountWatch,
    FAST_FOR_MS,
    STAMP_FIELD,
    rereadAccount
} from 'c/creditLive';
import CreditReviewModal from 'c/creditReviewModal';

import OPPORTUNITY_ACCOUNT_ID from '@salesforce/schema/Opportunity.AccountId';
import ORDER_ACCOUNT_ID from '@salesforce/schema/Order.AccountId';
import QUOTE_ACCOUNT_ID from '@salesforce/schema/Quote.AccountId';
import CASE_ACCOUNT_ID from '@salesforce/schema/Case.AccountId';
import ACCOUNT_NAME from '@salesforce/schema/Account.Name';
import CREDIT_STATUS from '@salesforce/schema/Account.Credit_Status__c';
import CREDIT_STATUS_REASON from '@salesforce/schema/Account.Credit_Status_Reason__c';
import CREDIT_STATUS_UPDATED from '@salesforce/schema/Account.Credit_Status_Updated__c';
import OVERDUE_AMOUNT from '@salesforce/schema/Account.Overdue_Amount__c';
import DAYS_PAST_DUE from '@salesforce/schema/Account.Days_Past_Due__c';
import CREDIT_LIMIT from '@salesforce/schema/Account.Credit_Limit__c';
import CREDIT_UTILIZATION from '@salesforce/schema/Account.Credit_Utilization__c';
import PROMISE_TO_PAY_DATE from '@salesforce/schema/Account.Promise_To_Pay_Date__c';
import AMOUNT_TO_RELEASE from '@salesforce/schema/Account.Amount_To_Release__c';
import OVERRIDE_UNTIL from '@salesforce/schema/Account.Credit_Hold_Override_Until__c';

import LABEL_TITLE from '@salesforce/label/c.CC_Banner_Title';
import LABEL_LOADING from '@salesforce/label/c.CC_Common_Loading';
import LABEL_LOAD_ERROR from '@salesforce/label/c.CC_Banner_LoadError';
import LABEL_NO_ACCESS from '@salesforce/label/c.CC_Banner_NoAccess';
import LABEL_NO_ACCOUNT from '@salesforce/label/c.CC_Banner_NoAccount';
import LABEL_NOT_ASSESSED from '@salesforce/label/c.CC_Banner_NotAssessed';
import LABEL_HOLD_WARNING from '@salesforce/label/c.CC_Banner_HoldWarning';
import LABEL_HOLD_RELEASE from '@salesforce/label/c.CC_Banner_HoldRelease';
import LABEL_WATCH_NOTE from '@salesforce/label/c.CC_Banner_WatchNote';
import LABEL_STATUS from '@salesforce/label/c.CC_Banner_Status';
import LABEL_OVERDUE from '@salesforce/label/c.CC_Banner_Overdue';
import LABEL_DAYS_PAST_DUE from '@salesforce/label/c.CC_Banner_DaysPastDue';
import LABEL_PROMISE_DATE from '@salesforce/label/c.CC_Banner_PromiseDate';
import LABEL_AMOUNT_TO_RELEASE from '@salesforce/label/c.CC_Banner_AmountToRelease';
import LABEL_OVERRIDE_UNTIL from '@salesforce/label/c.CC_Banner_OverrideUntil';
import LABEL_LAST_UPDATE from '@salesforce/label/c.CC_Banner_LastUpdate';
import LABEL_REASON from '@salesforce/label/c.CC_Banner_Reason';
import LABEL_UTILIZATION from '@salesforce/label/c.CC_Banner_Utilization';
import LABEL_UTILIZATION_VALUE from '@salesforce/label/c.CC_Banner_UtilizationValue';
import LABEL_NO_LIMIT from '@salesforce/label/c.CC_Banner_NoLimit';
import LABEL_ACCOUNT from '@salesforce/label/c.CC_Banner_Account';
import LABEL_REQUEST_REVIEW from '@salesforce/label/c.CC_Banner_RequestReview';

// The field that leads from each supported record page to its Account.
const ACCOUNT_LOOKUP_FIELDS = {
    Opportunity: [OPPORTUNITY_ACCOUNT_ID],
    Order: [ORDER_ACCOUNT_ID],
    Quote: [QUOTE_ACCOUNT_ID],
    Case: [CASE_ACCOUNT_ID]
};

// Credit fields are optional: without field-level access the record still loads, the
// fields are simply absent, and the banner says the user has no access.
const CREDIT_FIELDS = [
    CREDIT_STATUS,
    CREDIT_STATUS_REASON,
    CREDIT_STATUS_UPDATED,
    OVERDUE_AMOUNT,
    DAYS_PAST_DUE,
    CREDIT_LIMIT,
    CREDIT_UTILIZATION,
    PROMISE_TO_PAY_DATE,
    AMOUNT_TO_RELEASE,
    OVERRIDE_UNTIL,
    CREDIT_CURRENCY_FIELD,
    RECORD_CURRENCY_FIELD,
    STAMP_FIELD
];

/**
 * Credit standing of the Account behind the record page (Account, Opportunity, Order,
 * Quote, Case), in the customer's currency, kept current by c/creditLive.
 */
export default class CreditStatusBanner extends LightningElement {
    @api recordId;
    @api objectApiName;

    labels = {
        title: LABEL_TITLE,
        loading: LABEL_LOADING,
        loadError: LABEL_LOAD_ERROR,
        noAccess: LABEL_NO_ACCESS,
        noAccount: LABEL_NO_ACCOUNT,
        notAssessed: LABEL_NOT_ASSESSED,
        holdWarning: LABEL_HOLD_WARNING,
        watchNote: LABEL_WATCH_NOTE,
        status: LABEL_STATUS,
        overdue: LABEL_OVERDUE,
        daysPastDue: LABEL_DAYS_PAST_DUE,
        promiseDate: LABEL_PROMISE_DATE,
        amountToRelease: LABEL_AMOUNT_TO_RELEASE,
        overrideUntil: LABEL_OVERRIDE_UNTIL,
        lastUpdate: LABEL_LAST_UPDATE,
        reason: LABEL_REASON,
        utilization: LABEL_UTILIZATION,
        noLimit: LABEL_NO_LIMIT,
        account: LABEL_ACCOUNT,
        requestReview: LABEL_REQUEST_REVIEW
    };

    lookupAccountId;
    lookupLoaded = false;
    lookupError;
    account;

    @wire(MessageContext) messageContext;

    watch = new AccountWatch({
        getAccountId: () => this.accountId,
        refresh: () => rereadAccount(this.accountId),
        detectsChanges: true,
        getMessageContext: () => this.messageContext
    });

    connectedCallback() {
        this.watch.start();
    }

    disconnectedCallback() {
        this.watch.stop();
    }

    get isAccountPage() {
        return this.objectApiName === 'Account';
    }

    /** Record whose AccountId leads to the Account (undefined on Account pages). */
    get lookupRecordId() {
        return this.lookupFields ? this.recordId : undefined;
    }

    get lookupFields() {
        return ACCOUNT_LOOKUP_FIELDS[this.objectApiName];
    }

    @wire(getRecord, { recordId: '$lookupRecordId', fields: '$lookupFields' })
    wiredLookup({ data, error }) {
        this.lookupError = error;
        this.lookupLoaded = !!(data || error);
        this.lookupAccountId = data
            ? getFieldValue(data, this.lookupFields[0])
            : undefined;
    }

    get accountId() {
        return this.isAccountPage ? this.recordId : this.lookupAccountId;
    }

    @wire(getRecord, {
        recordId: '$accountId',
        fields: [ACCOUNT_NAME],
        optionalFields: CREDIT_FIELDS
    })
    wiredAccount(result) {
        this.account = result;
        if (result.data) {
            this.watch.seen(
                result.data.id,
                getFieldValue(result.data, STAMP_FIELD)
            );
        }
    }

    /** A review can be asked for an assessed Account the user can see. */
    get canRequestReview() {
        return !!this.record && !this.noAccess && !!this.accountId;
    }

    /** Runs the Request Credit Review flow; the service answers within seconds. */
    async handleRequestReview() {
        const requested = await CreditReviewModal.open({
            size: 'small',
            label: LABEL_REQUEST_REVIEW,
            accountId: this.accountId
        });
        if (requested) {
            this.watch.expectChange(FAST_FOR_MS);
        }
    }

    /** The customer's currency: every amount on the banner is in it. */
    get currencyCode() {
        return accountCurrency(this.record);
    }

    // ----- state -----

    get error() {
        if (this.lookupError) {
            return this.lookupError;
        }
        return this.account && this.account.error;
    }

    get record() {
        return this.account && this.account.data;
    }

    get noAccount() {
        return (
            !this.isAccountPage &&
            (!this.lookupFields || (this.lookupLoaded && !this.accountId))
        );
    }

    get noAccess() {
        if (this.error) {
            return isAccessError(this.error);
        }
        // The record loaded but the credit fields did not: no field-level access.
        return !!this.record && !this.record.fields[CREDIT_STATUS.fieldApiName];
    }

    get showError() {
        return !!this.error && !this.noAccess;
    }

    get isLoading() {
        return !this.error && !this.noAccount && !this.record;
    }

    get notAssessed() {
        return !!this.record && !this.creditStatus;
    }

    // ----- fields -----

    get accountName() {
        return getFieldValue(this.record, ACCOUNT_NAME);
    }

    get showAccountName() {
        return !this.isAccountPage && !!this.accountName;
    }

    get creditStatus() {
        return getFieldValue(this.record, CREDIT_STATUS);
    }

    get status() {
        return (
            statusPresentation(this.creditStatus) ||
            statusPresentation(STATUS.WATCH)
        );
    }

    get statusLabel() {
        const presentation = statusPresentation(this.creditStatus);
        return presentation ? presentation.label : this.creditStatus;
    }

    get isHold() {
        return this.creditStatus === STATUS.HOLD;
    }

    get isWatch() {
        return this.creditStatus === STATUS.WATCH;
    }

    get reason() {
        return getFieldValue(this.record, CREDIT_STATUS_REASON);
    }

    get lastUpdate() {
        return getFieldValue(this.record, CREDIT_STATUS_UPDATED);
    }

    get overdueAmount() {
        return getFieldValue(this.record, OVERDUE_AMOUNT) || 0;
    }

    get daysPastDue() {
        return getFieldValue(this.record, DAYS_PAST_DUE) || 0;
    }

    get promiseDate() {
        return getFieldValue(this.record, PROMISE_TO_PAY_DATE);
    }

    get amountToRelease() {
        return getFieldValue(this.record, AMOUNT_TO_RELEASE);
    }

    get showAmountToRelease() {
        return (
            this.amountToRelease !== null && this.amountToRelease !== undefined
        );
    }

    get holdReleaseText() {
        return LABEL_HOLD_RELEASE;
    }

    get overrideUntil() {
        const until = getFieldValue(this.record, OVERRIDE_UNTIL);
        return until && until >= todayIso() ? until : undefined;
    }

    get utilization() {
        return getFieldValue(this.record, CREDIT_UTILIZATION);
    }

    get hasUtilization() {
        return (
            this.utilization !== null &&
            this.utilization !== undefined &&
            !!getFieldValue(this.record, CREDIT_LIMIT)
        );
    }

    get utilizationRounded() {
        return Math.round(this.utilization);
    }

    /** aria-valuenow stays within 0..100; the text tells the true figure. */
    get utilizationNow() {
        return Math.min(100, Math.max(0, this.utilizationRounded));
    }

    get utilizationText() {
        return formatLabel(LABEL_UTILIZATION_VALUE, this.utilizationRounded);
    }

    get utilizationBarStyle() {
        return `width: ${this.utilizationNow}%`;
    }

    get utilizationBarClass() {
        let modifier = 'bar-ok';
        if (this.utilizationRounded >= 100) {
            modifier = 'bar-hold';
        } else if (this.utilizationRounded >= 80) {
            modifier = 'bar-watch';
        }
        return `slds-progress-bar__value ${modifier}`;
    }
}
