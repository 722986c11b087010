/**
 * Mounting and wiring shared by the two test files of c-collection-action-log (one runs
 * without the Credit_Hold_Override permission, one with it).
 */
import CollectionActionLog from 'c/collectionActionLog';
import {
    getObjectInfo,
    getPicklistValuesByRecordType
} from 'lightning/uiObjectInfoApi';
import { graphql } from 'lightning/graphql';
import { flushPromises, mount, query } from 'test/utils';

export const mockObjectInfo = require('./data/getObjectInfo.json');
export const mockObjectInfoReadOnly = require('./data/getObjectInfoReadOnly.json');
export const mockPicklists = require('./data/getPicklistValuesByRecordType.json');
export const mockActions = require('./data/graphqlActions.json');
export const mockEmpty = require('./data/graphqlEmpty.json');

export const ACCOUNT_ID = '001RM000003UNu6YAG';

/** The refresh function lightning/graphql hands out with each result. */
export const refresh = jest.fn(() => Promise.resolve());

/** Mounts the component and delivers object info, picklists and the GraphQL result. */
export async function mountLog(
    props = {},
    { objectInfo = mockObjectInfo, actions = mockActions } = {}
) {
    const element = mount('c-collection-action-log', CollectionActionLog, {
        recordId: ACCOUNT_ID,
        ...props
    });
    await flushPromises();
    getObjectInfo.emit(objectInfo);
    await flushPromises();
    getPicklistValuesByRecordType.emit(mockPicklists);
    if (actions) {
        graphql.emit(actions, undefined, refresh);
    }
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
