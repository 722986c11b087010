/**
 * Shared by the Credit Control components: status presentation, collection action types,
 * formatting (money in the customer's currency) and record-id comparison. Live updates are
 * c/creditLive's.
 */
import LOCALE from '@salesforce/i18n/locale';
import CURRENCY from '@salesforce/i18n/currency';
import LABEL_STATUS_OK from '@salesforce/label/c.CC_Status_OK';
import LABEL_STATUS_WATCH from '@salesforce/label/c.CC_Status_WATCH';
import LABEL_STATUS_HOLD from '@salesforce/label/c.CC_Status_HOLD';

export const STATUS = Object.freeze({ OK: 'OK', WATCH: 'WATCH', HOLD: 'HOLD' });

/** The Collection_Action__c.Type__c values the components treat specially. */
export const ACTION_TYPE = Object.freeze({
    CALL: 'Call',
    EMAIL: 'Email',
    NOTE: 'Note',
    PROMISE: 'Promise to Pay',
    DISPUTE: 'Dispute',
    OVERRIDE: 'Hold Override'
});

/** Collection_Action__c.Source__c of the actions people log in Salesforce. */
export const ACTION_SOURCE_SALESFORCE = 'Salesforce';

const STATUS_PRESENTATION = {
    OK: {
        label: LABEL_STATUS_OK,
        badgeClass: 'slds-badge slds-theme_success',
        iconName: 'utility:success'
    },
    WATCH: {
        label: LABEL_STATUS_WATCH,
        badgeClass: 'slds-badge slds-theme_warning',
        iconName: 'utility:warning'
    },
    HOLD: {
        label: LABEL_STATUS_HOLD,
        badgeClass: 'slds-badge slds-theme_error',
        iconName: 'utility:ban'
    }
};

/** Label, badge class and icon for a Credit_Status__c API value; undefined when unknown. */
export function statusPresentation(status) {
    return STATUS_PRESENTATION[status];
}

/** The default currency of the user, as an ISO code. */
export const USER_CURRENCY = CURRENCY;

/**
 * The Account fields that say which currency its credit figures are in, for getRecord's
 * optionalFields: Credit_Currency__c, written by the service with every push (the customer's
 * currency in the ERP), and CurrencyIsoCode, which exists only in multi-currency orgs (named
 * as a string, never a schema import, so the package deploys to single-currency orgs too).
 */
export const CREDIT_CURRENCY_FIELD = 'Account.Credit_Currency__c';
export const RECORD_CURRENCY_FIELD = 'Account.CurrencyIsoCode';

/**
 * The currency of an Account's credit figures in a getRecord result: the currency the service
 * wrote them in, else the record's currency (multi-currency orgs), else the user's.
 */
export function accountCurrency(record) {
    const fields = (record && record.fields) || {};
    const isoCode = (field) => {
        const value = fields[field] && fields[field].value;
        // Only an ISO 4217 code: anything else would break the number formatting.
        return typeof value === 'string' && /^[A-Z]{3}$/.test(value)
            ? value
            : undefined;
    };
    return (
        isoCode('Credit_Currency__c') ||
        isoCode('CurrencyIsoCode') ||
        USER_CURRENCY
    );
}

/**
 * Replaces {0}, {1}, ... in a custom label with the given values.
 */
export function formatLabel(label, ...values) {
    return (label || '').replace(/\{(\d+)\}/g, (match, index) => {
        const value = values[index];
        return value === undefined || value === null ? '' : `${value}`;
    });
}

/** Formats an amount in the user's locale; empty string for no value. */
export function formatCurrency(value, currencyCode = CURRENCY) {
    if (value === undefined || value === null || value === '') {
        return '';
    }
    try {
        return new Intl.NumberFormat(LOCALE, {
            style: 'currency',
            currency: currencyCode || CURRENCY
        }).format(value);
    } catch {
        return new Intl.NumberFormat(LOCALE).format(value);
    }
}

/** Formats a YYYY-MM-DD date in the user's locale; empty string for no value. */
export function formatDate(isoDate) {
    if (!isoDate) {
        return '';
    }
    return new Intl.DateTimeFormat(LOCALE, {
        year: 'numeric',
        month: 'short',
        day: '2-digit',
        timeZone: 'UTC'
    }).format(new Date(`${isoDate.substring(0, 10)}T00:00:00Z`));
}

/**
 * True when two Salesforce ids name the same record. 15- and 18-character forms of an id
 * share their first 15 (case-sensitive) characters.
 */
export function sameRecordId(first, second) {
    if (!first || !second) {
        return false;
    }
    return first.substring(0, 15) === second.substring(0, 15);
}

const MS_PER_DAY = 24 * 60 * 60 * 1000;

/** Today's date as YYYY-MM-DD in the browser's time zone. */
export function todayIso(now = new Date()) {
    const month = `${now.getMonth() + 1}`.padStart(2, '0');
    const day = `${now.getDate()}`.padStart(2, '0');
    return `${now.getFullYear()}-${month}-${day}`;
}

/**
 * Days past due of a YYYY-MM-DD due date as of `today` (also YYYY-MM-DD); 0 when not yet due,
 * undefined without a due date.
 */
export function daysPastDue(dueDate, today = todayIso()) {
    if (!dueDate) {
        return undefined;
    }
    const days = Math.round(
        (Date.parse(today) - Date.parse(dueDate)) / MS_PER_DAY
    );
    return days > 0 ? days : 0;
}

/**
 * Re-runs the query of a lightning/graphql wire result (the result carries `refresh` once
 * the query has been delivered).
 */
export function refreshGraphQLResult(result) {
    return result && typeof result.refresh === 'function'
        ? result.refresh()
        : Promise.resolve();
}
