import ErrorPanel from 'c/errorPanel';
import { flushPromises, mount, query, queryAll } from 'test/utils';

const TAG = 'c-error-panel';
const ERRORS = {
    status: 500,
    body: [{ message: 'First problem' }, { message: 'Second problem' }]
};

describe('c-error-panel', () => {
    it('shows the friendly message as an alert', async () => {
        const element = mount(TAG, ErrorPanel, {
            friendlyMessage: 'Could not load'
        });
        await flushPromises();
        expect(
            query(element, '[role="alert"] .friendly-message').textContent
        ).toBe('Could not load');
        expect(query(element, '.details-toggle')).toBeNull();
    });

    it('defaults to a generic message', async () => {
        const element = mount(TAG, ErrorPanel);
        await flushPromises();
        expect(query(element, '.friendly-message').textContent).toBe(
            'c.CC_Error_Default'
        );
    });

    it('shows the details on request', async () => {
        const element = mount(TAG, ErrorPanel, { errors: ERRORS });
        await flushPromises();
        const toggle = query(element, '.details-toggle');
        expect(toggle.getAttribute('aria-expanded')).toBe('false');
        expect(query(element, '.details').className).toContain('slds-hide');

        toggle.click();
        await flushPromises();

        expect(toggle.getAttribute('aria-expanded')).toBe('true');
        expect(toggle.textContent.trim()).toBe('c.CC_Error_HideDetails');
        expect(
            queryAll(element, '.details li').map((item) => item.textContent)
        ).toEqual(['First problem', 'Second problem']);
    });

    it('is accessible', async () => {
        const element = mount(TAG, ErrorPanel, { errors: ERRORS });
        await flushPromises();
        query(element, '.details-toggle').click();
        await flushPromises();
        await expect(element).toBeAccessible();
    });
});
