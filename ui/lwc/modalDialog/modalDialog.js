import { LightningElement, api } from 'lwc';
import LABEL_CLOSE from '@salesforce/label/c.CC_Common_Close';

/**
 * The SLDS modal shell every Credit Control dialog uses: a labelled `role="dialog"` section
 * with a close button, a header showing `heading`, the body in the default slot, the buttons
 * in the `footer` slot, and a backdrop. Focus moves to the close button when it first renders;
 * the close button and Escape fire `close`, and the parent decides whether to remove the dialog.
 */
export default class ModalDialog extends LightningElement {
    /** Title in the dialog header; names the dialog for assistive technology. */
    @api heading;

    labels = { close: LABEL_CLOSE };

    focused = false;

    renderedCallback() {
        if (!this.focused) {
            const close = this.template.querySelector('.dialog-close');
            if (close) {
                close.focus();
                this.focused = true;
            }
        }
    }

    handleKeydown(event) {
        if (event.key === 'Escape') {
            this.handleClose();
        }
    }

    handleClose() {
        this.dispatchEvent(new CustomEvent('close'));
    }
}
