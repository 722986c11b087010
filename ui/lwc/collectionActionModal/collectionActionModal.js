import { api } from 'lwc';
import LightningModal from 'lightning/modal';
import LABEL_CANCEL from '@salesforce/label/c.CC_Common_Cancel';

/**
 * The Collection Action Log in a Lightning modal (focus trap, Escape, return of focus: the
 * platform's). Closes with the logged action ({ id, type }) once one is saved, or with nothing
 * when cancelled.
 *
 *   const logged = await CollectionActionModal.open({ size: 'medium', label, accountId, ... });
 */
export default class CollectionActionModal extends LightningModal {
    /** The Account the action concerns. */
    @api accountId;
    /** Type to preselect ("Dispute" from an open item). */
    @api defaultType;
    /** Receivable__c to preselect for a dispute. */
    @api receivableId;
    /** Amount to prefill. */
    @api amount;
    /** Only the form, without the timeline. */
    @api hideTimeline = false;

    labels = { cancel: LABEL_CANCEL };

    handleLogged(event) {
        this.close(event.detail);
    }

    handleCancel() {
        this.close();
    }
}
