/**
 * Runs after the test framework is installed, before every test file: registers the
 * @sa11y/jest matcher (`await expect(element).toBeAccessible()`) and resets the DOM, the
 * mocks and the empApi / navigation / message service / modal test controls and the live-update state after each test, so test files carry no boilerplate.
 */
import { setup } from '@sa11y/jest';
import { empApiMock } from 'lightning/empApi';
import { resetNavigateMock } from 'lightning/navigation';
import { messageServiceMock } from 'lightning/messageService';
import { modalMock } from 'lightning/modal';
import { resetLiveState } from 'c/creditLive';
import { resetDom } from 'test/utils';

setup();

afterEach(() => {
    resetDom();
    empApiMock.resetMock();
    resetNavigateMock();
    messageServiceMock.resetMock();
    modalMock.resetMock();
    resetLiveState();
    jest.clearAllMocks();
});
