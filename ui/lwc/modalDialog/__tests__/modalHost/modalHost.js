import { LightningElement, api } from 'lwc';

/** Test host: fills c-modal-dialog's default and footer slots and counts its `close` events. */
export default class ModalHost extends LightningElement {
    @api heading;

    closes = 0;

    /** How many `close` events the dialog has fired. */
    @api
    get closeCount() {
        return this.closes;
    }

    handleClose() {
        this.closes += 1;
    }
}
