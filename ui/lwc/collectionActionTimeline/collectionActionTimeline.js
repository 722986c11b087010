import { LightningElement, api, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { MessageContext } from 'lightning/messageService';
import { AccountWatch } from 'c/creditLive';
import {
    USER_CURRENCY,
    ACTION_SOURCE_SALESFORCE,
    ACTION_TYPE,
    formatCurrency,
    formatDate,
    formatLabel,
    refreshGraphQLResult
} from 'c/creditUtils';

import LABEL_LOADING from '@salesforce/label/c.CC_Common_Loading';
import LABEL_LOAD_ERROR from '@salesforce/label/c.CC_Log_LoadError';
import LABEL_TIMELINE from '@salesforce/label/c.CC_Log_Timeline';
import LABEL_TIMELINE_EMPTY from '@salesforce/label/c.CC_Log_TimelineEmpty';
import LABEL_SUMMARY_PROMISE from '@salesforce/label/c.CC_Log_SummaryPromise';
import LABEL_SUMMARY_DISPUTE from '@salesforce/label/c.CC_Log_SummaryDispute';
import LABEL_SUMMARY_OVERRIDE from '@salesforce/label/c.CC_Log_SummaryOverride';
import LABEL_SUMMARY_FOLLOW_UP from '@salesforce/label/c.CC_Log_SummaryFollowUp';
import LABEL_BY_USER from '@salesforce/label/c.CC_Log_ByUser';
import LABEL_BY_SERVICE from '@salesforce/label/c.CC_Log_ByService';

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

const TIMELINE_SIZE = 20;

/**
 * The Account's most recent collection actions, newest first: what each one was, when, a
 * one-line summary, its notes, and who logged it.
 */
export default class CollectionActionTimeline extends LightningElement {
    /** The Account whose actions are shown. */
    @api recordId;

    labels = {
        loading: LABEL_LOADING,
        loadError: LABEL_LOAD_ERROR,
        timeline: LABEL_TIMELINE,
        timelineEmpty: LABEL_TIMELINE_EMPTY
    };

    graphqlResult;
    actions;
    errors;

    @wire(MessageContext) messageContext;

    // Re-read when another component on the page logged an action or saw the figures change.
    watch = new AccountWatch({
        getAccountId: () => this.recordId,
        refresh: () => this.refresh(),
        getMessageContext: () => this.messageContext,
        onMessage: () => this.refresh()
    });

    connectedCallback() {
        this.watch.start();
    }

    disconnectedCallback() {
        this.watch.stop();
    }

    @wire(graphql, {
        query: gql`
            query collectionActionTimeline($accountId: ID, $timelineSize: Int) {
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
                                    Account__r: Account__r {
                                        Credit_Currency__c {
                                            value
                                        }
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
        this.errors = errors;
        if (data || errors) {
            // Keep the last delivered result (and its refresh) across loading emissions.
            this.graphqlResult = result;
        }
        if (data) {
            this.actions = data.uiapi.query.Collection_Action__c.edges.map(
                (edge) => edge.node
            );
        }
    }

    get graphqlVariables() {
        return { accountId: this.recordId, timelineSize: TIMELINE_SIZE };
    }

    /** Re-reads the actions, e.g. after one has been logged. */
    @api
    refresh() {
        return refreshGraphQLResult(this.graphqlResult);
    }

    get isLoading() {
        return !this.actions && !this.errors;
    }

    get items() {
        return (this.actions || []).map((action) => ({
            id: action.Id,
            typeLabel: action.Type__c.displayValue || action.Type__c.value,
            iconName: TIMELINE_ICONS[action.Type__c.value] || 'standard:task',
            createdDate: action.CreatedDate.value,
            summary: this.summarise(action),
            notes: action.Notes__c.value,
            byLine:
                action.Source__c.value === ACTION_SOURCE_SALESFORCE
                    ? formatLabel(
                          LABEL_BY_USER,
                          action.CreatedBy && action.CreatedBy.Name.value
                      )
                    : LABEL_BY_SERVICE
        }));
    }

    get hasItems() {
        return this.items.length > 0;
    }

    /** The customer's currency (the service writes it on the Account). */
    currencyOf(action) {
        const account = action.Account__r;
        return (
            (account &&
                account.Credit_Currency__c &&
                account.Credit_Currency__c.value) ||
            USER_CURRENCY
        );
    }

    summarise(action) {
        switch (action.Type__c.value) {
            case ACTION_TYPE.PROMISE:
                return formatLabel(
                    LABEL_SUMMARY_PROMISE,
                    formatCurrency(
                        action.Promised_Amount__c.value,
                        this.currencyOf(action)
                    ),
                    formatDate(action.Promised_Date__c.value)
                );
            case ACTION_TYPE.DISPUTE:
                return formatLabel(
                    LABEL_SUMMARY_DISPUTE,
                    formatCurrency(
                        action.Disputed_Amount__c.value,
                        this.currencyOf(action)
                    ),
                    action.Receivable__r ? action.Receivable__r.Name.value : '',
                    action.Dispute_Reason__c.displayValue ||
                        action.Dispute_Reason__c.value,
                    action.Dispute_Status__c.displayValue ||
                        action.Dispute_Status__c.value
                );
            case ACTION_TYPE.OVERRIDE:
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
