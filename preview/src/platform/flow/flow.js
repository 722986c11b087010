/**
 * `lightning-flow` in the preview: screen flows run in Salesforce, not here. The component says
 * so where the flow would be, names the flow, and reports the status `NOT_SUPPORTED` through
 * `statuschange`, so a caller waiting for `FINISHED` is never told the flow ran.
 */
import { LightningElement, api } from 'lwc';

export default class Flow extends LightningElement {
    @api flowApiName;
    @api flowInputVariables;
    @api flowFinishBehavior;

    @api startFlow(flowApiName, inputVariables) {
        this.flowApiName = flowApiName;
        this.flowInputVariables = inputVariables;
    }

    connectedCallback() {
        Promise.resolve().then(() =>
            this.dispatchEvent(
                new CustomEvent('statuschange', {
                    detail: {
                        status: 'NOT_SUPPORTED',
                        flowTitle: this.flowApiName
                    }
                })
            )
        );
    }
}
