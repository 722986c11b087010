import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import { MessageContext } from 'lightning/messageService';
import { isAccessError } from 'c/ldsUtils';
import {
    CREDIT_CURRENCY_FIELD,
    RECORD_CURRENCY_FIELD,
    accountCurrency,
    formatCurrency,
    formatLabel
} from 'c/creditUtils';
import { AccountWatch, STAMP_FIELD, rereadAccount } from 'c/creditLive';

import ACCOUNT_NAME from '@salesforce/schema/Account.Name';
import AGING_CURRENT from '@salesforce/schema/Account.Aging_Current__c';
import AGING_1_30 from '@salesforce/schema/Account.Aging_1_30__c';
import AGING_31_60 from '@salesforce/schema/Account.Aging_31_60__c';
import AGING_61_90 from '@salesforce/schema/Account.Aging_61_90__c';
import AGING_91_PLUS from '@salesforce/schema/Account.Aging_91_Plus__c';

import LABEL_TITLE from '@salesforce/label/c.CC_Aging_Title';
import LABEL_LOADING from '@salesforce/label/c.CC_Common_Loading';
import LABEL_LOAD_ERROR from '@salesforce/label/c.CC_Aging_LoadError';
import LABEL_NO_ACCESS from '@salesforce/label/c.CC_Aging_NoAccess';
import LABEL_EMPTY from '@salesforce/label/c.CC_Aging_Empty';
import LABEL_SUMMARY from '@salesforce/label/c.CC_Aging_Summary';
import LABEL_SUMMARY_ITEM from '@salesforce/label/c.CC_Aging_SummaryItem';
import LABEL_TABLE_CAPTION from '@salesforce/label/c.CC_Aging_TableCaption';
import LABEL_COLUMN_BUCKET from '@salesforce/label/c.CC_Aging_ColumnBucket';
import LABEL_COLUMN_AMOUNT from '@salesforce/label/c.CC_Aging_ColumnAmount';
import LABEL_TOTAL from '@salesforce/label/c.CC_Aging_Total';
import LABEL_BUCKET_CURRENT from '@salesforce/label/c.CC_Aging_BucketCurrent';
import LABEL_BUCKET_1_30 from '@salesforce/label/c.CC_Aging_Bucket1To30';
import LABEL_BUCKET_31_60 from '@salesforce/label/c.CC_Aging_Bucket31To60';
import LABEL_BUCKET_61_90 from '@salesforce/label/c.CC_Aging_Bucket61To90';
import LABEL_BUCKET_91_PLUS from '@salesforce/label/c.CC_Aging_Bucket91Plus';

const BUCKETS = [
    { key: 'current', field: AGING_CURRENT, label: LABEL_BUCKET_CURRENT },
    { key: 'd1_30', field: AGING_1_30, label: LABEL_BUCKET_1_30 },
    { key: 'd31_60', field: AGING_31_60, label: LABEL_BUCKET_31_60 },
    { key: 'd61_90', field: AGING_61_90, label: LABEL_BUCKET_61_90 },
    { key: 'd91_plus', field: AGING_91_PLUS, label: LABEL_BUCKET_91_PLUS }
];

const AGING_FIELDS = BUCKETS.map((bucket) => bucket.field);

/**
 * The Account's open invoice amounts by days past due, as a CSS bar chart (role="img" with
 * a spoken summary) backed by a visually hidden data table.
 */
export default class AgingChart extends LightningElement {
    @api recordId;

    labels = {
        title: LABEL_TITLE,
        loading: LABEL_LOADING,
        loadError: LABEL_LOAD_ERROR,
        noAccess: LABEL_NO_ACCESS,
        empty: LABEL_EMPTY,
        tableCaption: LABEL_TABLE_CAPTION,
        columnBucket: LABEL_COLUMN_BUCKET,
        columnAmount: LABEL_COLUMN_AMOUNT,
        total: LABEL_TOTAL
    };

    account;

    @wire(MessageContext) messageContext;

    watch = new AccountWatch({
        getAccountId: () => this.recordId,
        refresh: () => rereadAccount(this.recordId),
        detectsChanges: true,
        getMessageContext: () => this.messageContext
    });

    @wire(getRecord, {
        recordId: '$recordId',
        fields: [ACCOUNT_NAME],
        optionalFields: [
            ...AGING_FIELDS,
            CREDIT_CURRENCY_FIELD,
            RECORD_CURRENCY_FIELD,
            STAMP_FIELD
        ]
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

    connectedCallback() {
        this.watch.start();
    }

    disconnectedCallback() {
        this.watch.stop();
    }

    /** The customer's currency: the buckets are in it. */
    get currencyCode() {
        return accountCurrency(this.record);
    }

    get record() {
        return this.account && this.account.data;
    }

    get error() {
        return this.account && this.account.error;
    }

    get isLoading() {
        return !this.record && !this.error;
    }

    get noAccess() {
        if (this.error) {
            return isAccessError(this.error);
        }
        return !!this.record && !this.record.fields[AGING_CURRENT.fieldApiName];
    }

    get showError() {
        return !!this.error && !this.noAccess;
    }

    get buckets() {
        const amounts = BUCKETS.map(
            (bucket) => Number(getFieldValue(this.record, bucket.field)) || 0
        );
        const largest = Math.max(...amounts, 0);
        return BUCKETS.map((bucket, index) => {
            const amount = amounts[index];
            const height =
                largest > 0 ? Math.round((amount / largest) * 100) : 0;
            return {
                key: bucket.key,
                label: bucket.label,
                amount,
                formattedAmount: formatCurrency(amount, this.currencyCode),
                barClass: `bar bar-${bucket.key}`,
                // A visible sliver for small non-zero amounts
                style: `height: ${amount > 0 ? Math.max(height, 2) : 0}%`
            };
        });
    }

    get total() {
        return this.buckets.reduce((sum, bucket) => sum + bucket.amount, 0);
    }

    get formattedTotal() {
        return formatCurrency(this.total, this.currencyCode);
    }

    get isEmpty() {
        return this.total === 0;
    }

    get summary() {
        const items = this.buckets
            .map((bucket) =>
                formatLabel(
                    LABEL_SUMMARY_ITEM,
                    bucket.label,
                    bucket.formattedAmount
                )
            )
            .join('; ');
        return formatLabel(LABEL_SUMMARY, items, this.formattedTotal);
    }
}
