import { api } from 'lwc';
import LightningModal from 'lightning/modal';
import LABEL_TITLE from '@salesforce/label/c.CC_Review_Title';

/** The flow that publishes Credit_Review_Request__e (no Apex: a screen flow does it). */
export const REVIEW_FLOW = 'Request_Credit_Review';

/**
 * "Request credit review" in a Lightning modal: runs the Request_Credit_Review screen flow for
 * the Account. Closes with `true` when the flow finished (the request was published).
 */
export default class CreditReviewModal extends LightningModal {
    @api accountId;

    labels = { title: LABEL_TITLE };
    flowName = REVIEW_FLOW;

    get inputs() {
        return [{ name: 'recordId', type: 'String', value: this.accountId }];
    }

    handleStatusChange(event) {
        if (event.detail && event.detail.status === 'FINISHED') {
            this.close(true);
        }
    }
}
