/**
 * Test data and delivery of the timeline's query, shared by the tests of
 * c-collection-action-timeline and of c-collection-action-log, which contains it.
 */
import { graphql } from 'lightning/graphql';
import { flushPromises } from 'test/utils';

export const mockActions = require('./data/graphqlActions.json');
export const mockEmpty = require('./data/graphqlEmpty.json');

/** The refresh function lightning/graphql hands out with each result. */
export const refresh = jest.fn(() => Promise.resolve());

// Only the timeline's query (the form next to it runs its own).
const timelineQuery = (config) =>
    !!config.variables && 'timelineSize' in config.variables;

/** Delivers the result of the timeline's query. */
export async function emitActions(actions = mockActions) {
    graphql.emit(actions, timelineQuery, refresh);
    await flushPromises();
}
