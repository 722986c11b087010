import { LightningElement, api } from 'lwc';
import { reduceErrors } from 'c/ldsUtils';
import LABEL_DEFAULT from '@salesforce/label/c.CC_Error_Default';
import LABEL_SHOW_DETAILS from '@salesforce/label/c.CC_Error_ShowDetails';
import LABEL_HIDE_DETAILS from '@salesforce/label/c.CC_Error_HideDetails';

/**
 * The one place errors are shown: a friendly message and, on request, the details that
 * `reduceErrors` extracts from any error shape.
 */
export default class ErrorPanel extends LightningElement {
    /** Message shown to the user; defaults to a generic one. */
    @api friendlyMessage = LABEL_DEFAULT;
    /** One error or an array of errors of any shape (LDS, GraphQL, JavaScript). */
    @api errors;

    showDetails = false;

    get messages() {
        return reduceErrors(this.errors).map((message, index) => ({
            key: `${index}`,
            message
        }));
    }

    get hasMessages() {
        return this.messages.length > 0;
    }

    get toggleLabel() {
        return this.showDetails ? LABEL_HIDE_DETAILS : LABEL_SHOW_DETAILS;
    }

    get ariaExpanded() {
        return this.showDetails ? 'true' : 'false';
    }

    get detailsClass() {
        return this.showDetails
            ? 'slds-list_dotted details'
            : 'slds-hide details';
    }

    handleToggle() {
        this.showDetails = !this.showDetails;
    }
}
