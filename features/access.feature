@access
Feature: Access decisions (steps 4-9)
  The NAC asks Intune about the device that authenticates and decides: full access for a compliant
  device, a redirect to enrollment for a device Intune does not manage, quarantine and a redirect to
  the portal for a noncompliant one. It names the device by the Intune device ID from its
  certificate, or by a normalised MAC, and it decides fast.

  @ACC-01 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: An enrolled, compliant device gets full access without a redirect
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    And "laptop" connects over VPN
    Then "laptop" gets full access without a redirect

  @ACC-02 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A device Intune has never heard of is redirected to enrollment
    Given a device "visitor" that is unknown to Intune
    When "visitor" connects over Wi-Fi
    Then "visitor" gets no corporate access and is redirected to enrollment

  @ACC-02 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A device that is not enrolled, or was retired, is redirected to enrollment
    Given a device "byod" that is not enrolled
    And a device "old-laptop" that is retired
    When "byod" connects over Wi-Fi
    And "old-laptop" connects over VPN
    Then "byod" gets no corporate access and is redirected to enrollment
    And "old-laptop" gets no corporate access and is redirected to enrollment

  @ACC-03 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: An enrolled, noncompliant device is quarantined and sent to the portal
    Given a device "laptop" that is noncompliant
    When "laptop" connects over Wi-Fi
    And "laptop" connects over VPN
    Then "laptop" is quarantined and redirected to the management portal

  @ACC-04 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A newly enrolled device that Intune has not evaluated yet is not compliant
    Given a device "new-laptop" that is newly enrolled
    When "new-laptop" connects over Wi-Fi
    And 1 minute passes
    And "new-laptop" connects again
    Then "new-laptop" is not granted compliant access

  @ACC-05 @cr-cisco @graph
  Scenario Outline: The NAC names the device by the Intune device ID in its certificate
    Given a device "laptop" that is compliant
    And "laptop" has a device certificate in the <style> style
    When "laptop" connects over Wi-Fi
    Then the NAC queried "laptop" by the Intune device ID from its certificate
    And "laptop" gets full access without a redirect

    Examples:
      | style          |
      | Intune         |
      | Cisco ISE      |
      | strong-mapping |

  @ACC-05 @cr-cisco @graph
  Scenario: The NAC never mistakes the Entra device ID for the Intune device ID
    Given a device "laptop" that is noncompliant
    And a device "desktop" that is compliant
    When "laptop" connects over Wi-Fi
    And "desktop" connects over VPN
    Then the NAC queried "laptop" by the Intune device ID from its certificate
    And the NAC queried "desktop" by the Intune device ID from its certificate

  @ACC-06 @cr-cisco @legacy-cisco @legacy-json
  Scenario Outline: Without a certificate the NAC queries by the MAC as 12 upper-case hex digits
    Given a device "printer" that is compliant
    And "printer" has no device certificate
    And the access point reports "printer"'s MAC address with <notation>
    When "printer" connects over Wi-Fi
    Then the NAC queried "printer" by its MAC address as 12 upper-case hex digits
    And "printer" gets full access without a redirect

    Examples:
      | notation |
      | dashes   |
      | colons   |
      | dots     |

  @ACC-06 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: A randomised MAC without a certificate is never allowed
    Given a device "phone" that is compliant
    And "phone" has no device certificate
    And "phone" joins with a randomised MAC address
    When "phone" connects over Wi-Fi
    Then "phone" is never allowed on its randomised MAC address

  @ACC-07 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: With Intune answering in 150 ms the NAC decides within its declared budget
    Given a device "laptop" that is compliant
    And a device "phone" that is noncompliant
    And a device "visitor" that is unknown to Intune
    And Intune answers device queries in 150 ms
    When "laptop" connects over Wi-Fi
    And "phone" connects over Wi-Fi
    And "visitor" connects over Wi-Fi
    And 2 minutes pass
    And "phone" connects again
    And "visitor" connects again
    Then every decision came within the declared budget beyond Intune's answer
