import { isAccessError, reduceErrors } from 'c/ldsUtils';

describe('c/ldsUtils', () => {
    describe('reduceErrors', () => {
        it('reads UI API read errors (body is an array)', () => {
            expect(
                reduceErrors({
                    status: 400,
                    body: [{ message: 'First' }, { message: 'Second' }]
                })
            ).toEqual(['First', 'Second']);
        });

        it('prefers the specific reasons of UI API write errors', () => {
            expect(
                reduceErrors({
                    body: {
                        message:
                            'An error occurred while trying to update the record.',
                        output: {
                            errors: [
                                {
                                    errorCode:
                                        'FIELD_CUSTOM_VALIDATION_EXCEPTION',
                                    message: 'Promise date is in the past.'
                                }
                            ],
                            fieldErrors: {
                                Notes__c: [{ message: 'Too long.' }]
                            }
                        }
                    }
                })
            ).toEqual(['Promise date is in the past.', 'Too long.']);
        });

        it('falls back to the body message', () => {
            expect(
                reduceErrors({
                    body: { message: 'Request failed', output: { errors: [] } }
                })
            ).toEqual(['Request failed']);
        });

        it('reads GraphQL, JavaScript, empApi and string errors', () => {
            expect(
                reduceErrors([
                    { message: 'GraphQL says no', locations: [] },
                    new TypeError('Cannot read x'),
                    { error: 'Handshake denied' },
                    'Plain text'
                ])
            ).toEqual([
                'GraphQL says no',
                'Cannot read x',
                'Handshake denied',
                'Plain text'
            ]);
        });

        it('falls back to the status text and drops empty entries', () => {
            expect(
                reduceErrors([
                    null,
                    undefined,
                    { statusText: 'Bad Gateway' },
                    {}
                ])
            ).toEqual(['Bad Gateway']);
        });
    });

    describe('isAccessError', () => {
        it.each([
            [{ status: 403, body: [] }, true],
            [{ status: 404, body: [] }, true],
            [
                { status: 400, body: [{ errorCode: 'INSUFFICIENT_ACCESS' }] },
                true
            ],
            [{ status: 400, body: { errorCode: 'ENTITY_IS_DELETED' } }, true],
            [
                { status: 500, body: [{ errorCode: 'UNKNOWN_EXCEPTION' }] },
                false
            ],
            [undefined, false]
        ])('%j -> %s', (error, expected) => {
            expect(isAccessError(error)).toBe(expected);
        });
    });
});
