/**
 * Mock of lightning/navigation that records navigation (after the lwc-recipes mock):
 * `getNavigateCalledWith()` returns the last page reference passed to Navigate.
 */
import { createTestWireAdapter } from '@salesforce/wire-service-jest-util';

export const CurrentPageReference = createTestWireAdapter(jest.fn());

let navigatePageRef;
let navigateReplace;

const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');

export const NavigationMixin = (Base) => {
    return class extends Base {
        [Navigate](pageRef, replace) {
            navigatePageRef = pageRef;
            navigateReplace = replace;
        }
        [GenerateUrl](pageRef) {
            navigatePageRef = pageRef;
            const { recordId, objectApiName, actionName } =
                (pageRef && pageRef.attributes) || {};
            return Promise.resolve(
                `https://example.com/${recordId || objectApiName}/${actionName}`
            );
        }
    };
};
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

export const getNavigateCalledWith = () => navigatePageRef;
export const getNavigateReplace = () => navigateReplace;
export const resetNavigateMock = () => {
    navigatePageRef = undefined;
    navigateReplace = undefined;
};
