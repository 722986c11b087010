import { LightningElement, wire } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import { gql, graphql } from 'lightning/graphql';
import { MessageContext } from 'lightning/messageService';
import USER_ID from '@salesforce/user/Id';
import {
    STATUS,
    USER_CURRENCY,
    formatLabel,
    refreshGraphQLResult
} from 'c/creditUtils';
import {
    REASON,
    subscribeAccountMessages,
    unsubscribeAccountMessages
} from 'c/creditLive';
import CollectionActionModal from 'c/collectionActionModal';

import LABEL_TITLE from '@salesforce/label/c.CC_Worklist_Title';
import LABEL_TITLE_COUNT from '@salesforce/label/c.CC_Worklist_TitleCount';
import LABEL_LOADING from '@salesforce/label/c.CC_Common_Loading';
import LABEL_LOAD_ERROR from '@salesforce/label/c.CC_Worklist_LoadError';
import LABEL_EMPTY from '@salesforce/label/c.CC_Worklist_Empty';
import LABEL_MORE from '@salesforce/label/c.CC_Worklist_More';
import LABEL_OWNER_FILTER from '@salesforce/label/c.CC_Worklist_OwnerFilter';
import LABEL_MINE from '@salesforce/label/c.CC_Worklist_Mine';
import LABEL_ALL from '@salesforce/label/c.CC_Worklist_All';
import LABEL_STATUS_FILTER from '@salesforce/label/c.CC_Worklist_StatusFilter';
import LABEL_ALL_NOT_OK from '@salesforce/label/c.CC_Worklist_AllNotOk';
import LABEL_STATUS_WATCH from '@salesforce/label/c.CC_Status_WATCH';
import LABEL_STATUS_HOLD from '@salesforce/label/c.CC_Status_HOLD';
import LABEL_REFRESH from '@salesforce/label/c.CC_Worklist_Refresh';
import LABEL_ACCOUNT from '@salesforce/label/c.CC_Worklist_Account';
import LABEL_STATUS from '@salesforce/label/c.CC_Worklist_Status';
import LABEL_PRIORITY from '@salesforce/label/c.CC_Worklist_Priority';
import LABEL_OVERDUE from '@salesforce/label/c.CC_Worklist_Overdue';
import LABEL_DAYS_PAST_DUE from '@salesforce/label/c.CC_Worklist_DaysPastDue';
import LABEL_RISK from '@salesforce/label/c.CC_Worklist_Risk';
import LABEL_PROMISE from '@salesforce/label/c.CC_Worklist_PromiseDate';
import LABEL_NEXT_ACTION from '@salesforce/label/c.CC_Worklist_NextAction';
import LABEL_COLLECTOR from '@salesforce/label/c.CC_Worklist_Collector';
import LABEL_OPEN from '@salesforce/label/c.CC_Worklist_OpenRecord';
import LABEL_LOG from '@salesforce/label/c.CC_Worklist_LogAction';
import LABEL_LOG_HEADING from '@salesforce/label/c.CC_Worklist_LogHeading';

const PAGE_SIZE = 200;
const OWNER_MINE = 'mine';
const OWNER_ALL = 'all';
const STATUS_ALL = 'ALL';
// A burst of logged actions becomes one re-query.
const LIVE_REFRESH_DELAY_MS = 2000;
// The list re-queries this often while the tab is visible (never while hidden).
export const WORKLIST_POLL_MS = 60000;

const STATUS_ICONS = {
    [STATUS.HOLD]: 'utility:ban',
    [STATUS.WATCH]: 'utility:warning'
};

/**
 * Credit controllers' worklist: accounts on Watch or Credit Hold, most urgent first, with
 * collector ("Mine": Collector__c is me) and status filters, sorting and quick actions, amounts
 * in each customer's currency. Re-queries every minute while visible and after an action is
 * logged.
 */
export default class CollectionsWorklist extends NavigationMixin(
    LightningElement
) {
    labels = {
        loading: LABEL_LOADING,
        loadError: LABEL_LOAD_ERROR,
        empty: LABEL_EMPTY,
        more: LABEL_MORE,
        ownerFilter: LABEL_OWNER_FILTER,
        statusFilter: LABEL_STATUS_FILTER,
        refresh: LABEL_REFRESH
    };

    ownerFilter = OWNER_MINE;
    statusFilter = STATUS_ALL;
    sortedBy = 'priority';
    sortDirection = 'desc';

    ownerOptions = [
        { label: LABEL_MINE, value: OWNER_MINE },
        { label: LABEL_ALL, value: OWNER_ALL }
    ];

    statusOptions = [
        { label: LABEL_ALL_NOT_OK, value: STATUS_ALL },
        { label: LABEL_STATUS_WATCH, value: STATUS.WATCH },
        { label: LABEL_STATUS_HOLD, value: STATUS.HOLD }
    ];

    columns = [
        {
            label: LABEL_ACCOUNT,
            fieldName: 'recordUrl',
            type: 'url',
            sortable: true,
            typeAttributes: { label: { fieldName: 'name' } }
        },
        {
            label: LABEL_STATUS,
            fieldName: 'statusLabel',
            sortable: true,
            cellAttributes: {
                iconName: { fieldName: 'statusIcon' },
                class: { fieldName: 'statusClass' }
            }
        },
        {
            label: LABEL_PRIORITY,
            fieldName: 'priority',
            type: 'number',
            sortable: true
        },
        {
            label: LABEL_OVERDUE,
            fieldName: 'overdueAmount',
            type: 'currency',
            sortable: true,
            typeAttributes: { currencyCode: { fieldName: 'currencyCode' } }
        },
        {
            label: LABEL_DAYS_PAST_DUE,
            fieldName: 'daysPastDue',
            type: 'number',
            sortable: true
        },
        {
            label: LABEL_RISK,
            fieldName: 'riskScore',
            type: 'number',
            sortable: true
        },
        {
            label: LABEL_PROMISE,
            fieldName: 'promiseDate',
            type: 'date-local',
            sortable: true,
            typeAttributes: { month: 'short', day: '2-digit' }
        },
        {
            label: LABEL_NEXT_ACTION,
            fieldName: 'nextActionDate',
            type: 'date-local',
            sortable: true,
            typeAttributes: { month: 'short', day: '2-digit' }
        },
        { label: LABEL_COLLECTOR, fieldName: 'collectorName', sortable: true },
        {
            type: 'action',
            typeAttributes: {
                rowActions: [
                    { label: LABEL_OPEN, name: 'open' },
                    { label: LABEL_LOG, name: 'log' }
                ]
            }
        }
    ];

    graphqlResult;
    accounts;
    hasMore = false;
    errors;
    refreshTimer;
    pollTimer;
    subscription;

    @wire(MessageContext) messageContext;

    @wire(graphql, {
        query: gql`
            query collectionsWorklist($where: Account_Filter, $pageSize: Int) {
                uiapi {
                    query {
                        Account(
                            where: $where
                            orderBy: {
                                Collection_Priority__c: {
                                    order: DESC
                                    nulls: LAST
                                }
                            }
                            first: $pageSize
                        ) {
                            edges {
                                node {
                                    Id
                                    Name {
                                        value
                                    }
                                    Credit_Status__c: Credit_Status__c {
                                        value
                                        displayValue
                                    }
                                    Credit_Status_Reason__c: Credit_Status_Reason__c {
                                        value
                                    }
                                    Collection_Priority__c: Collection_Priority__c {
                                        value
                                    }
                                    Overdue_Amount__c: Overdue_Amount__c {
                                        value
                                    }
                                    Days_Past_Due__c: Days_Past_Due__c {
                                        value
                                    }
                                    Risk_Score__c: Risk_Score__c {
                                        value
                                    }
                                    Promise_To_Pay_Date__c: Promise_To_Pay_Date__c {
                                        value
                                    }
                                    Next_Action_Date__c: Next_Action_Date__c {
                                        value
                                    }
                                    Credit_Currency__c: Credit_Currency__c {
                                        value
                                    }
                                    Collector__r: Collector__r {
                                        Name {
                                            value
                                        }
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
    wiredAccounts(result) {
        const { data, errors } = result;
        this.errors = errors;
        if (data || errors) {
            // Keep the last delivered result (and its refresh) across loading emissions.
            this.graphqlResult = result;
        }
        if (data) {
            const connection = data.uiapi.query.Account;
            this.accounts = connection.edges.map((edge) =>
                this.toRow(edge.node)
            );
            this.hasMore = !!(
                connection.pageInfo && connection.pageInfo.hasNextPage
            );
            this.addRecordUrls(this.accounts);
        }
    }

    /** Links to the Accounts' record pages, from the navigation service. */
    async addRecordUrls(accounts) {
        const urls = await Promise.all(
            accounts.map((row) =>
                this[NavigationMixin.GenerateUrl](this.pageOf(row))
            )
        );
        if (this.accounts === accounts) {
            this.accounts = accounts.map((row, i) => ({
                ...row,
                recordUrl: urls[i]
            }));
        }
    }

    pageOf(row) {
        return {
            type: 'standard__recordPage',
            attributes: {
                recordId: row.id,
                objectApiName: 'Account',
                actionName: 'view'
            }
        };
    }

    /** Accounts on Watch or Credit Hold (never "not OK" by `ne`, which would match blanks). */
    get variables() {
        const statuses =
            this.statusFilter === STATUS_ALL
                ? [STATUS.WATCH, STATUS.HOLD]
                : [this.statusFilter];
        const filters = [{ Credit_Status__c: { in: statuses } }];
        if (this.ownerFilter === OWNER_MINE) {
            filters.push({ Collector__c: { eq: USER_ID } });
        }
        return { where: { and: filters }, pageSize: PAGE_SIZE };
    }

    connectedCallback() {
        // eslint-disable-next-line @lwc/lwc/no-async-operation -- the list's own re-query
        this.pollTimer = setInterval(() => {
            if (document.visibilityState !== 'hidden') {
                this.refresh();
            }
        }, WORKLIST_POLL_MS);
        this.subscription = subscribeAccountMessages(
            this.messageContext,
            (message) => {
                if (message && message.reason === REASON.ACTION_LOGGED) {
                    this.scheduleRefresh();
                }
            }
        );
    }

    disconnectedCallback() {
        clearInterval(this.pollTimer);
        clearTimeout(this.refreshTimer);
        unsubscribeAccountMessages(this.subscription);
        this.subscription = undefined;
    }

    toRow(node) {
        const status = node.Credit_Status__c.value;
        return {
            id: node.Id,
            name: node.Name.value,
            recordUrl: undefined,
            status,
            statusLabel: node.Credit_Status__c.displayValue || status,
            statusIcon: STATUS_ICONS[status],
            statusClass: status === STATUS.HOLD ? 'slds-text-color_error' : '',
            reason: node.Credit_Status_Reason__c.value,
            priority: node.Collection_Priority__c.value,
            overdueAmount: node.Overdue_Amount__c.value,
            daysPastDue: node.Days_Past_Due__c.value,
            riskScore: node.Risk_Score__c.value,
            promiseDate: node.Promise_To_Pay_Date__c.value,
            nextActionDate: node.Next_Action_Date__c.value,
            currencyCode:
                (node.Credit_Currency__c && node.Credit_Currency__c.value) ||
                USER_CURRENCY,
            collectorName: node.Collector__r
                ? node.Collector__r.Name.value
                : undefined
        };
    }

    // ----- view state -----

    get title() {
        return this.accounts
            ? formatLabel(LABEL_TITLE_COUNT, this.accounts.length)
            : LABEL_TITLE;
    }

    get isLoading() {
        return !this.accounts && !this.errors;
    }

    get hasAccounts() {
        return !!this.accounts && this.accounts.length > 0;
    }

    get rows() {
        const rows = [...(this.accounts || [])];
        const field = this.sortedBy === 'recordUrl' ? 'name' : this.sortedBy;
        const direction = this.sortDirection === 'asc' ? 1 : -1;
        const blank = (value) =>
            value === null || value === undefined || value === '';
        return rows.sort((first, second) => {
            const a = first[field];
            const b = second[field];
            // Blanks last whichever the direction
            if (blank(a) || blank(b)) {
                return blank(a) - blank(b);
            }
            if (typeof a === 'string' || typeof b === 'string') {
                return direction * `${a}`.localeCompare(`${b}`);
            }
            return direction * (a - b);
        });
    }

    // ----- handlers -----

    handleOwnerChange(event) {
        this.ownerFilter = event.detail.value;
    }

    handleStatusChange(event) {
        this.statusFilter = event.detail.value;
    }

    handleSort(event) {
        this.sortedBy = event.detail.fieldName;
        this.sortDirection = event.detail.sortDirection;
    }

    handleRefresh() {
        return this.refresh();
    }

    refresh() {
        return refreshGraphQLResult(this.graphqlResult);
    }

    scheduleRefresh() {
        if (this.refreshTimer) {
            return;
        }
        // eslint-disable-next-line @lwc/lwc/no-async-operation -- debounce live refreshes
        this.refreshTimer = setTimeout(() => {
            this.refreshTimer = undefined;
            this.refresh();
        }, LIVE_REFRESH_DELAY_MS);
    }

    async handleRowAction(event) {
        const { action, row } = event.detail;
        if (action.name === 'open') {
            this[NavigationMixin.Navigate](this.pageOf(row));
        } else if (action.name === 'log') {
            const logged = await CollectionActionModal.open({
                size: 'medium',
                label: formatLabel(LABEL_LOG_HEADING, row.name),
                accountId: row.id
            });
            if (logged) {
                this.refresh();
            }
        }
    }
}
