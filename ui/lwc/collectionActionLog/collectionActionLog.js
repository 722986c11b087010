import { LightningElement, api } from 'lwc';
import LABEL_TITLE from '@salesforce/label/c.CC_Log_Title';

/**
 * The collection action log of an Account: the form to log an action above the timeline of
 * the Account's actions, which is refreshed after each save.
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

    /** Refreshes the timeline and passes the form's `logged` event ({ id, type }) on. */
    handleLogged(event) {
        if (this.refs.timeline) {
            this.refs.timeline.refresh();
        }
        this.dispatchEvent(new CustomEvent('logged', { detail: event.detail }));
    }
}
