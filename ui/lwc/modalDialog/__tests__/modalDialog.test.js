import ModalDialog from 'c/modalDialog';
import ModalHost from './modalHost/modalHost';
import { flushPromises, mount, query } from 'test/utils';

const HEADING = 'Log an action for Acme';

function mountDialog(props = { heading: HEADING }) {
    return mount('c-modal-dialog', ModalDialog, props);
}

describe('c-modal-dialog', () => {
    it('renders a labelled modal dialog with its heading and a backdrop', () => {
        const element = mountDialog();

        const dialog = query(element, '[role="dialog"]');
        expect(dialog.getAttribute('aria-modal')).toBe('true');
        const heading = query(element, '.slds-modal__title');
        expect(heading.textContent.trim()).toBe(HEADING);
        expect(dialog.getAttribute('aria-labelledby')).toBe(heading.id);
        expect(query(element, '.slds-backdrop')).not.toBeNull();
    });

    it('labels its close button', () => {
        const element = mountDialog();
        const close = query(element, '.dialog-close');
        expect(close.title).toBe('c.CC_Common_Close');
        expect(close.querySelector('.slds-assistive-text').textContent).toBe(
            'c.CC_Common_Close'
        );
    });

    it('shows the slotted content in its body and footer', () => {
        const host = mount('c-modal-host', ModalHost, { heading: HEADING });
        const modal = query(host, 'c-modal-dialog');

        const [body] = query(modal, '.slds-modal__content slot')
            .assignedNodes({
                flatten: true
            })
            .filter((node) => node.nodeType === Node.ELEMENT_NODE);
        expect(body.textContent).toBe('Dialog body');
        const [footer] = query(modal, '.slds-modal__footer slot')
            .assignedNodes({ flatten: true })
            .filter((node) => node.nodeType === Node.ELEMENT_NODE);
        expect(footer.textContent).toBe('Footer button');
    });

    it('moves focus to its close button when it renders', () => {
        const element = mountDialog();
        expect(element.shadowRoot.activeElement).toBe(
            query(element, '.dialog-close')
        );
    });

    it('fires close on Escape, not on other keys', async () => {
        const element = mountDialog();
        const handler = jest.fn();
        element.addEventListener('close', handler);

        const dialog = query(element, '[role="dialog"]');
        dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
        expect(handler).not.toHaveBeenCalled();
        dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
        await flushPromises();
        expect(handler).toHaveBeenCalledTimes(1);
    });

    it('fires close when its close button is clicked', () => {
        const host = mount('c-modal-host', ModalHost, { heading: HEADING });
        const modal = query(host, 'c-modal-dialog');
        query(modal, '.dialog-close').click();
        expect(host.closeCount).toBe(1);
    });

    it('is accessible', async () => {
        const host = mount('c-modal-host', ModalHost, { heading: HEADING });
        await expect(host).toBeAccessible();
    });
});
