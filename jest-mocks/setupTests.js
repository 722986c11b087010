/**
 * Runs after the test framework is installed, before every test file: registers the
 * @sa11y/jest matcher (`await expect(element).toBeAccessible()`) and resets the DOM, the
 * mocks and the empApi / navigation test controls after each test, so test files carry no boilerplate.
 */
import { setup } from '@sa11y/jest';
import { empApiMock } from 'lightning/empApi';
import { resetNavigateMock } from 'lightning/navigation';
import { resetDom } from 'test/utils';

setup();

afterEach(() => {
    resetDom();
    empApiMock.resetMock();
    resetNavigateMock();
    jest.clearAllMocks();
});
