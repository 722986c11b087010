import { LightningElement, api } from 'lwc';
import LABEL_TITLE from '@salesforce/label/c.CC_Log_Title';

/**
 * The collection action log of an Account: the form to log an action above the timeline of
 * the Account's actions. The form announces each saved action on the page's message channel
 * (c/creditLive), and the timeline re-reads on it.
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

    labels = { title: LABEL_TITLE };

    get showTimeline() {
        return !this.hideTimeline;
    }

    /** Passes the form's `logged` event ({ id, type }) on (a modal closes on it). */
    handleLogged(event) {
        this.dispatchEvent(new CustomEvent('logged', { detail: event.detail }));
    }
}
