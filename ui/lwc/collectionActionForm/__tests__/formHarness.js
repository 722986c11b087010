/**
 * Mounting and wiring of c-collection-action-form, shared by its two test files (one runs
 * without the Credit_Hold_Override permission, one with it) and by the tests of
 * c-collection-action-log, which contains the form.
 */
import CollectionActionForm from 'c/collectionActionForm';
import {
    getObjectInfo,
    getPicklistValuesByRecordType
} from 'lightning/uiObjectInfoApi';
import { graphql } from 'lightning/graphql';
import { flushPromises, mount, query } from 'test/utils';

export const mockObjectInfo = require('./data/getObjectInfo.json');
export const mockObjectInfoReadOnly = require('./data/getObjectInfoReadOnly.json');
export const mockPicklists = require('./data/getPicklistValuesByRecordType.json');
export const mockInvoices = require('./data/graphqlInvoices.json');
export const mockNoInvoices = require('./data/graphqlNoInvoices.json');

export const ACCOUNT_ID = '001RM000003UNu6YAG';

/** Delivers the object info and the picklists of Collection_Action__c. */
export async function emitObjectInfo(objectInfo = mockObjectInfo) {
    getObjectInfo.emit(objectInfo);
    await flushPromises();
    getPicklistValuesByRecordType.emit(mockPicklists);
    await flushPromises();
}

/** Mounts the form and delivers object info, picklists and the open invoices. */
export async function mountForm(
    props = {},
    { objectInfo = mockObjectInfo, invoices = mockInvoices } = {}
) {
    const element = mount('c-collection-action-form', CollectionActionForm, {
        recordId: ACCOUNT_ID,
        ...props
    });
    await flushPromises();
    await emitObjectInfo(objectInfo);
    graphql.emit(invoices);
    await flushPromises();
    return element;
}

export function typeValues(element) {
    return query(element, 'lightning-combobox.type').options.map(
        (option) => option.value
    );
}

export async function submit(element) {
    query(element, 'lightning-button.submit').click();
    await flushPromises();
}
