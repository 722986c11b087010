import { LightningElement, api, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { MessageContext } from 'lightning/messageService';
import { NavigationMixin } from 'lightning/navigation';
import { daysPastDue, formatLabel, refreshGraphQLResult } from 'c/creditUtils';
import { AccountWatch } from 'c/creditLive';
import CollectionActionModal from 'c/collectionActionModal';

import LABEL_TITLE from '@salesforce/label/c.CC_Receivables_Title';
import LABEL_TITLE_COUNT from '@salesforce/label/c.CC_Receivables_TitleCount';
import LABEL_LOADING from '@salesforce/label/c.CC_Common_Loading';
import LABEL_LOAD_ERROR from '@salesforce/label/c.CC_Receivables_LoadError';
import LABEL_EMPTY from '@salesforce/label/c.CC_Receivables_Empty';
import LABEL_MORE from '@salesforce/label/c.CC_Receivables_More';
import LABEL_DOCUMENT from '@salesforce/label/c.CC_Receivables_Document';
import LABEL_TYPE from '@salesforce/label/c.CC_Receivables_Type';
import LABEL_DUE_DATE from '@salesforce/label/c.CC_Receivables_DueDate';
import LABEL_DAYS_PAST_DUE from '@salesforce/label/c.CC_Receivables_DaysPastDue';
import LABEL_AMOUNT from '@salesforce/label/c.CC_Receivables_Amount';
import LABEL_OPEN_AMOUNT from '@salesforce/label/c.CC_Receivables_OpenAmount';
import LABEL_STATUS from '@salesforce/label/c.CC_Receivables_Status';
import LABEL_PAY_LINK from '@salesforce/label/c.CC_Receivables_PayLink';
import LABEL_PAY from '@salesforce/label/c.CC_Receivables_Pay';
import LABEL_DISPUTE from '@salesforce/label/c.CC_Receivables_Dispute';
import LABEL_DISPUTE_HEADING from '@salesforce/label/c.CC_Receivables_DisputeHeading';

const PAGE_SIZE = 200;
const TYPE_INVOICE = 'Invoice';
const STATUS_DISPUTED = 'Disputed';

/**
 * The Account's open Receivable__c items, oldest due first, with days past due, the pay
 * link and a dispute action that opens the collection action log on the item.
 */
export default class OpenReceivables extends NavigationMixin(LightningElement) {
    @api recordId;

    labels = {
        loading: LABEL_LOADING,
        loadError: LABEL_LOAD_ERROR,
        empty: LABEL_EMPTY,
        more: LABEL_MORE
    };

    graphqlResult;
    items;
    hasMore = false;
    errors;

    @wire(MessageContext) messageContext;

    // Re-query when the Account's figures change or an action is logged on the page; polls
    // on its own only when no component on the page reads the Account itself.
    watch = new AccountWatch({
        getAccountId: () => this.recordId,
        refresh: () => this.refresh(),
        getMessageContext: () => this.messageContext,
        onMessage: () => this.refresh()
    });

    columns = [
        {
            label: LABEL_DOCUMENT,
            fieldName: 'recordUrl',
            type: 'url',
            typeAttributes: { label: { fieldName: 'name' } }
        },
        { label: LABEL_TYPE, fieldName: 'type' },
        {
            label: LABEL_DUE_DATE,
            fieldName: 'dueDate',
            type: 'date-local',
            typeAttributes: { year: 'numeric', month: 'short', day: '2-digit' }
        },
        {
            label: LABEL_DAYS_PAST_DUE,
            fieldName: 'daysPastDue',
            type: 'number',
            cellAttributes: { class: { fieldName: 'daysClass' } }
        },
        {
            label: LABEL_AMOUNT,
            fieldName: 'amount',
            type: 'currency',
            typeAttributes: { currencyCode: { fieldName: 'currencyCode' } }
        },
        {
            label: LABEL_OPEN_AMOUNT,
            fieldName: 'openAmount',
            type: 'currency',
            typeAttributes: { currencyCode: { fieldName: 'currencyCode' } }
        },
        { label: LABEL_STATUS, fieldName: 'status' },
        {
            label: LABEL_PAY_LINK,
            fieldName: 'payLink',
            type: 'url',
            typeAttributes: { label: LABEL_PAY, target: '_blank' }
        },
        {
            type: 'action',
            typeAttributes: {
                rowActions: (row, done) => done(this.rowActions(row))
            }
        }
    ];

    @wire(graphql, {
        query: gql`
            query openReceivables($accountId: ID, $pageSize: Int) {
                uiapi {
                    query {
                        Receivable__c(
                            where: {
                                and: [
                                    { Account__c: { eq: $accountId } }
                                    {
                                        Status__c: {
                                            nin: ["Paid", "Written Off"]
                                        }
                                    }
                                ]
                            }
                            orderBy: {
                                Due_Date__c: { order: ASC, nulls: LAST }
                            }
                            first: $pageSize
                        ) {
                            edges {
                                node {
                                    Id
                                    Name {
                                        value
                                    }
                                    Type__c: Type__c {
                                        value
                                        displayValue
                                    }
                                    Due_Date__c: Due_Date__c {
                                        value
                                    }
                                    Amount__c: Amount__c {
                                        value
                                    }
                                    Open_Amount__c: Open_Amount__c {
                                        value
                                    }
                                    Currency_Code__c: Currency_Code__c {
                                        value
                                    }
                                    Status__c: Status__c {
                                        value
                                        displayValue
                                    }
                                    Days_Past_Due__c: Days_Past_Due__c {
                                        value
                                    }
                                    Pay_Link__c: Pay_Link__c {
                                        value
                                    }
                                }
                            }
                            pageInfo {
                                hasNextPage
                            }
                        }
                    }
                }
            }
        `,
        variables: '$variables'
    })
    wiredReceivables(result) {
        const { data, errors } = result;
        this.errors = errors;
        if (data || errors) {
            // Keep the last delivered result (and its refresh) across loading emissions.
            this.graphqlResult = result;
        }
        if (data) {
            const connection = data.uiapi.query.Receivable__c;
            this.items = connection.edges.map((edge) => this.toRow(edge.node));
            this.hasMore = !!(
                connection.pageInfo && connection.pageInfo.hasNextPage
            );
            this.addRecordUrls(this.items);
        }
    }

    /** Links to the items' record pages, from the navigation service (never hand-built). */
    async addRecordUrls(items) {
        const urls = await Promise.all(
            items.map((row) =>
                this[NavigationMixin.GenerateUrl]({
                    type: 'standard__recordPage',
                    attributes: {
                        recordId: row.id,
                        objectApiName: 'Receivable__c',
                        actionName: 'view'
                    }
                })
            )
        );
        if (this.items === items) {
            this.items = items.map((row, i) => ({
                ...row,
                recordUrl: urls[i]
            }));
        }
    }

    get variables() {
        return { accountId: this.recordId, pageSize: PAGE_SIZE };
    }

    connectedCallback() {
        this.watch.start();
    }

    disconnectedCallback() {
        this.watch.stop();
    }

    toRow(node) {
        const stored = node.Days_Past_Due__c.value;
        const days =
            stored === null || stored === undefined
                ? daysPastDue(node.Due_Date__c.value)
                : stored;
        const type = node.Type__c.value;
        const status = node.Status__c.value;
        return {
            id: node.Id,
            name: node.Name.value,
            recordUrl: undefined,
            type: node.Type__c.displayValue || type,
            dueDate: node.Due_Date__c.value,
            daysPastDue: days,
            daysClass: days > 0 ? 'slds-text-color_error' : '',
            amount: node.Amount__c.value,
            openAmount: node.Open_Amount__c.value,
            currencyCode: node.Currency_Code__c.value,
            status: node.Status__c.displayValue || status,
            payLink: node.Pay_Link__c.value,
            canDispute: type === TYPE_INVOICE && status !== STATUS_DISPUTED
        };
    }

    rowActions(row) {
        return [
            { label: LABEL_DISPUTE, name: 'dispute', disabled: !row.canDispute }
        ];
    }

    get title() {
        return this.items
            ? formatLabel(LABEL_TITLE_COUNT, this.items.length)
            : LABEL_TITLE;
    }

    get isLoading() {
        return !this.items && !this.errors;
    }

    get hasItems() {
        return !!this.items && this.items.length > 0;
    }

    refresh() {
        return refreshGraphQLResult(this.graphqlResult);
    }

    async handleRowAction(event) {
        const { action, row } = event.detail;
        if (action.name !== 'dispute' || !row.canDispute) {
            return;
        }
        const logged = await CollectionActionModal.open({
            size: 'medium',
            label: formatLabel(LABEL_DISPUTE_HEADING, row.name),
            accountId: this.recordId,
            defaultType: 'Dispute',
            receivableId: row.id,
            amount: row.openAmount,
            hideTimeline: true
        });
        if (logged) {
            this.refresh();
        }
    }
}
